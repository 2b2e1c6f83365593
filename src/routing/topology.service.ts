import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, ResolvedConfig } from '../config/app-config';
import { freshRing } from '../ring';
import { RingRepository } from './ring.repository';
import { RingService } from './ring.service';

/**
 * Brings this instance up from dialogdb at start: registers the configured databases,
 * writes the first ring if there is none, then starts serving the ring in force.
 */
@Injectable()
export class TopologyService implements OnModuleInit {
  constructor(
    @Inject(APP_CONFIG) private readonly config: ResolvedConfig,
    private readonly repo: RingRepository,
    private readonly ring: RingService,
  ) {}

  async onModuleInit(): Promise<void> {
    // The status given applies to new rows only: a shard a reshard retired stays retired.
    for (const shard of this.config.shards) await this.repo.upsertShard(shard.name, shard.url, 'active');
    for (const spare of this.config.spareShards) await this.repo.upsertShard(spare.name, spare.url, 'pending');
    if (!(await this.repo.latest())) {
      await this.repo.createInitial(freshRing(this.config.shards.map((s) => s.name)).toJSON());
    }
    await this.ring.start();
  }
}
