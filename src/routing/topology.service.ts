import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, ResolvedConfig } from '../config/app-config';
import { freshRing } from '../ring';
import { ShardOpsRepository } from '../reshard/shard-ops.repository';
import { ownedGrants, sides } from '../reshard/workflow';
import { RingRepository } from './ring.repository';
import { RingService } from './ring.service';

/**
 * Brings this instance up from dialogdb at start: registers the configured databases,
 * writes the first ring if there is none, then starts serving the ring in force.
 */
@Injectable()
export class TopologyService implements OnModuleInit {
  private readonly logger = new Logger('Ring');

  constructor(
    @Inject(APP_CONFIG) private readonly config: ResolvedConfig,
    private readonly repo: RingRepository,
    private readonly ring: RingService,
    private readonly ops: ShardOpsRepository,
  ) {}

  async onModuleInit(): Promise<void> {
    // New rows only: a shard a reshard retired stays retired, and a known shard keeps its URL.
    // A configured shard is active only when it holds an arc: one that the ring in force
    // leaves out (an embedded server found on disk, a URL added to SHARD_URLS) is a spare.
    const latest = await this.repo.latest();
    const onRing = new Set(latest ? latest.points.map((p) => p.shard) : this.config.shards.map((s) => s.name));
    for (const shard of this.config.shards) {
      const status = onRing.has(shard.name) ? 'active' : 'pending';
      if (await this.repo.registerShard(shard.name, shard.url, status)) {
        this.logger.log(`${shard.name}: registered as ${status === 'active' ? 'active' : 'a spare (it holds no arc of the ring in force)'}`);
      }
    }
    for (const spare of this.config.spareShards) await this.repo.registerShard(spare.name, spare.url, 'pending');
    if (!latest) await this.repo.createInitial(freshRing(this.config.shards.map((s) => s.name)).toJSON());
    await this.ring.start();
    await this.initOwnership();
  }

  /**
   * Shards that never had their arcs set (a deployment's first start, or databases from
   * before shards enforced ownership) get the arcs they own on the ring in force. A shard
   * that has its arcs keeps them: only a reshard's steps change those. The shards of a
   * reshard in progress are left to it.
   */
  private async initOwnership(): Promise<void> {
    const latest = (await this.repo.latest())!;
    const busy = latest.transition ? (({ sources, targets }) => new Set([...sources, ...targets]))(sides(latest.transition.moved)) : new Set<string>();
    for (const { shard } of latest.points) {
      if (busy.has(shard)) continue;
      if (await this.ops.initArcs(shard, ownedGrants(latest.points, shard), latest.version)) {
        this.logger.log(`${shard}: serves its arc of ring v${latest.version} from now on`);
      }
    }
  }
}
