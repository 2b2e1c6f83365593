import { Injectable } from '@nestjs/common';
import { ShardRegistry } from '../shards/shard-registry';

export interface ShardStats {
  rows: number | null;
  bytes: number | null;
  healthy: boolean;
}

// Exact counts are cheap on small shards. Past this the statistics' estimate is close enough,
// and a full scan every few seconds would cost a busy shard (or a reshard's growing target)
// latency that its live requests feel.
const EXACT_COUNT_BELOW = 100_000;

/**
 * Size of each shard, read from the shard itself so the numbers cover all API instances.
 * Its write load is not read here: Postgres counts a reshard's copied rows as inserts too
 * (see LiveWrites).
 */
@Injectable()
export class ShardStatsService {
  constructor(private readonly registry: ShardRegistry) {}

  async stats(name: string): Promise<ShardStats> {
    try {
      const [row] = await this.registry.query<{ live: string; bytes: string }>(
        name,
        `SELECT coalesce(s.n_live_tup, 0) AS live, pg_total_relation_size('messages') AS bytes
         FROM pg_stat_user_tables s WHERE s.relname = 'messages'`,
        [],
      );
      let rows = Number(row?.live ?? 0);
      if (rows < EXACT_COUNT_BELOW) {
        const [exact] = await this.registry.query<{ n: string }>(name, 'SELECT count(*) AS n FROM messages', []);
        rows = Number(exact.n);
      }
      return { rows, bytes: Number(row?.bytes ?? 0), healthy: true };
    } catch {
      return { rows: null, bytes: null, healthy: false };
    }
  }
}
