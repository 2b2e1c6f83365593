import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, ResolvedConfig } from '../config/app-config';
import { freshRing, Ring } from '../ring';
import { ShardRegistry } from '../shards/shard-registry';
import { RingRepository } from './ring.repository';
import { RingService } from './ring.service';

/**
 * Brings this instance's view of the cluster up from dialogdb at start: registers the
 * configured databases, writes the first ring if there is none, and loads the ring in force.
 */
@Injectable()
export class TopologyService implements OnModuleInit {
  private readonly logger = new Logger('Topology');

  constructor(
    @Inject(APP_CONFIG) private readonly config: ResolvedConfig,
    private readonly repo: RingRepository,
    private readonly registry: ShardRegistry,
    private readonly ring: RingService,
  ) {}

  async onModuleInit(): Promise<void> {
    for (const shard of this.config.shards) await this.repo.upsertShard(shard.name, shard.url, 'active');
    for (const spare of this.config.spareShards) await this.repo.upsertShard(spare.name, spare.url, 'pending');
    if (!(await this.repo.latest())) {
      await this.repo.createInitial(freshRing(this.config.shards.map((s) => s.name)).toJSON());
    }
    await this.reload();
  }

  async reload(): Promise<void> {
    for (const row of await this.repo.shards()) this.registry.add(row.name, row.url);
    const latest = await this.repo.latest();
    if (!latest) throw new Error('dialogdb has no ring');
    const ring = new Ring(latest.points);
    const missing = ring.shards().filter((s) => !this.registry.has(s));
    if (missing.length) throw new Error(`ring v${latest.version} names unregistered shards: ${missing.join(', ')}`);
    this.ring.serve({ version: latest.version, ring });
    this.logger.log(
      `serving ring v${latest.version}: ${ring.points.map((p) => `${p.shard}@${p.point}`).join(', ')}`,
    );
  }
}
