import { Injectable } from '@nestjs/common';
import { ShardRegistry } from '../shards/shard-registry';

/** How big a shard's messages table is, read from the shard itself. */
@Injectable()
export class ShardStatsRepository {
  constructor(private readonly registry: ShardRegistry) {}

  /** Postgres's estimate of live rows (0 before its first analyze) and the table's bytes, indexes included. */
  async size(shard: string): Promise<{ estimatedRows: number; bytes: number }> {
    const [row] = await this.registry.query<{ live: string; bytes: string }>(
      shard,
      `SELECT coalesce(s.n_live_tup, 0) AS live, pg_total_relation_size('messages') AS bytes
       FROM pg_stat_user_tables s WHERE s.relname = 'messages'`,
      [],
    );
    return { estimatedRows: Number(row?.live ?? 0), bytes: Number(row?.bytes ?? 0) };
  }

  /** An exact count: a full scan. */
  async countRows(shard: string): Promise<number> {
    const [row] = await this.registry.query<{ n: string }>(shard, 'SELECT count(*) AS n FROM messages', []);
    return Number(row.n);
  }
}
