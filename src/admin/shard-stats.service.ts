import { Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { ShardRegistry } from '../shards/shard-registry';

export interface ShardStats {
  rows: number | null;
  bytes: number | null;
  /** Rows inserted per second over the last minute, across every instance (from pg_stat). */
  writeRate: number | null;
  healthy: boolean;
}

interface Sample {
  at: number;
  inserted: number;
}

const SAMPLE_EVERY_MS = 5_000;
/** writeRate is the average over this window. */
export const RATE_WINDOW_MS = 60_000;
// Exact counts are cheap on small shards. Past this the statistics' estimate is close enough,
// and a full scan every few seconds would cost a busy shard (or a reshard's growing target)
// latency that its live requests feel.
const EXACT_COUNT_BELOW = 100_000;

/**
 * Size and write load of each shard, read from Postgres' own statistics so the numbers
 * cover all API instances, not just this one. This is what tells an operator which shard
 * is hot.
 */
@Injectable()
export class ShardStatsService implements OnModuleInit, OnApplicationShutdown {
  private readonly history = new Map<string, Sample[]>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly registry: ShardRegistry) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.sampleAll(), SAMPLE_EVERY_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  private async sampleAll(): Promise<void> {
    await Promise.allSettled(this.registry.names().map((name) => this.stats(name)));
  }

  async stats(name: string): Promise<ShardStats> {
    try {
      const [row] = await this.registry.query<{ inserted: string; live: string; bytes: string }>(
        name,
        `SELECT coalesce(s.n_tup_ins, 0) AS inserted, coalesce(s.n_live_tup, 0) AS live,
                pg_total_relation_size('messages') AS bytes
         FROM pg_stat_user_tables s WHERE s.relname = 'messages'`,
        [],
      );
      let rows = Number(row?.live ?? 0);
      if (rows < EXACT_COUNT_BELOW) {
        const [exact] = await this.registry.query<{ n: string }>(name, 'SELECT count(*) AS n FROM messages', []);
        rows = Number(exact.n);
      }
      return { rows, bytes: Number(row?.bytes ?? 0), writeRate: this.record(name, Number(row?.inserted ?? 0)), healthy: true };
    } catch {
      return { rows: null, bytes: null, writeRate: null, healthy: false };
    }
  }

  private record(name: string, inserted: number): number | null {
    const now = Date.now();
    const samples = (this.history.get(name) ?? []).filter((s) => now - s.at <= RATE_WINDOW_MS && s.inserted <= inserted);
    samples.push({ at: now, inserted });
    this.history.set(name, samples);
    const oldest = samples[0];
    if (now - oldest.at < 1000) return null;
    return Math.round(((inserted - oldest.inserted) * 1000) / (now - oldest.at) * 10) / 10;
  }
}
