import { Injectable } from '@nestjs/common';

/** writeRate is the average over this window. */
export const RATE_WINDOW_MS = 60_000;
const BUCKET_MS = 1_000;

/**
 * The messages this instance wrote for its clients, per shard: each send it acknowledged
 * as new, and nothing else. A reshard's copier, its copy back on cancel and its cleanup
 * write the same tables but are not load a client put on the shard, and Postgres' own
 * counters (`n_tup_ins`) cannot tell them apart: a split's target looked like the busiest
 * shard for a minute after it. Each instance reports its rates with its heartbeat, and
 * `GET /admin/shards` adds up those of the live instances.
 */
@Injectable()
export class LiveWrites {
  /** Per shard, writes per one-second bucket (keyed by bucket start), for the last window. */
  private readonly buckets = new Map<string, Map<number, number>>();
  private readonly since: number;

  constructor(private readonly clock: () => number = Date.now) {
    this.since = clock();
  }

  record(shard: string, count = 1): void {
    const bucket = Math.floor(this.clock() / BUCKET_MS) * BUCKET_MS;
    let perShard = this.buckets.get(shard);
    if (!perShard) this.buckets.set(shard, (perShard = new Map()));
    perShard.set(bucket, (perShard.get(bucket) ?? 0) + count);
  }

  /**
   * Writes per second of each shard this instance wrote to, over the last RATE_WINDOW_MS (or
   * since it started, when that is shorter, but at least a second), to one decimal.
   */
  rates(): Record<string, number> {
    const now = this.clock();
    const from = now - RATE_WINDOW_MS;
    const seconds = Math.max(1, Math.min(RATE_WINDOW_MS, now - this.since) / 1000);
    const rates: Record<string, number> = {};
    for (const [shard, perShard] of this.buckets) {
      let sum = 0;
      for (const [bucket, count] of perShard) {
        if (bucket + BUCKET_MS <= from) perShard.delete(bucket);
        else sum += count;
      }
      if (perShard.size === 0) this.buckets.delete(shard);
      else rates[shard] = Math.round((sum / seconds) * 10) / 10;
    }
    return rates;
  }
}
