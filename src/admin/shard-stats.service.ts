import { Injectable } from '@nestjs/common';
import { ShardStatsRepository } from './shard-stats.repository';

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
  constructor(private readonly repository: ShardStatsRepository) {}

  async stats(name: string): Promise<ShardStats> {
    try {
      const { estimatedRows, bytes } = await this.repository.size(name);
      const rows = estimatedRows < EXACT_COUNT_BELOW ? await this.repository.countRows(name) : estimatedRows;
      return { rows, bytes, healthy: true };
    } catch {
      return { rows: null, bytes: null, healthy: false };
    }
  }
}
