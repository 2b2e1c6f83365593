import { Injectable } from '@nestjs/common';
import { arcShare } from '../ring';
import { ReshardJobRepository } from '../reshard/reshard-job.repository';
import { RingRepository } from '../routing/ring.repository';
import { RingService } from '../routing/ring.service';
import { ShardRegistry } from '../shards/shard-registry';
import { RingDto, RouteDto, ShardDto } from './admin.dto';
import { RATE_WINDOW_MS } from '../shards/live-writes';
import { rankShardLoad } from './hot-shards';
import { ShardStatsService } from './shard-stats.service';

@Injectable()
export class AdminService {
  constructor(
    private readonly ringService: RingService,
    private readonly registry: ShardRegistry,
    private readonly stats: ShardStatsService,
    private readonly rings: RingRepository,
    private readonly jobs: ReshardJobRepository,
  ) {}

  ring(): RingDto {
    const { version, ring } = this.ringService.current();
    return { version, points: ring.toJSON() };
  }

  route(dialogId: string): RouteDto {
    const route = this.ringService.route(dialogId);
    return { dialogId, hash: route.hash, shard: route.write, reads: route.reads };
  }

  /**
   * Ring shards in point order, then registered shards that hold no arc (spares), each with
   * its load rank and, for at most one, the mark to split it (see rankShardLoad).
   */
  async shards(): Promise<ShardDto[]> {
    const { ring, transition } = this.ringService.current();
    const [rows, writeRates, reshardInWindow] = await Promise.all([
      this.rings.shards(),
      this.rings.liveWriteRates(),
      // The rates are a minute's sends, counted per shard by the ring they were routed by:
      // within a minute of a reshard they describe the old layout (a split's source still
      // carries the sends of the half it gave away). Cleanup runs after the transition ends.
      transition ? true : this.jobs.busyWithin(RATE_WINDOW_MS),
    ]);
    const names = [...ring.shards(), ...rows.map((r) => r.name).filter((n) => !ring.has(n) && this.registry.has(n))];
    const shards = await Promise.all(
      names.map(async (name) => {
        const { rows: count, bytes, healthy } = await this.stats.stats(name);
        return {
          name,
          point: ring.has(name) ? ring.pointOf(name) : null,
          arcShare: ring.has(name) ? arcShare(ring.arcOf(name)) : 0,
          rows: count,
          bytes,
          // A shard that does not answer takes no writes, but its load is unknown rather than nil.
          writeRate: healthy ? (writeRates.get(name) ?? 0) : null,
          healthy,
          status: rows.find((r) => r.name === name)?.status ?? 'active',
        };
      }),
    );
    const ranking = rankShardLoad(shards, { reshardInWindow });
    return shards.map((shard, i) => ({ ...shard, ...ranking[i] }));
  }
}
