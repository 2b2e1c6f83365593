import { LRUCache } from 'lru-cache';
import type { RateLimit } from '../config/app-config';

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date, on the limiter's clock (ms). */
  at: number;
}

/**
 * One token bucket per key, kept in an LRU so memory stays bounded whatever the number of
 * keys. A key the LRU forgot starts again with a full bucket, which only ever errs on the
 * side of the user: it can be forgotten only after `maxKeys` other keys were used since.
 */
export class TokenBuckets {
  private readonly buckets: LRUCache<string, Bucket>;
  private readonly perMs: number;

  constructor(
    readonly limit: RateLimit,
    maxKeys: number,
    // Monotonic: a wall clock set back would leave buckets empty until it caught up.
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(limit.perMinute > 0) || !(limit.burst >= 1)) throw new Error('a token bucket needs perMinute > 0 and burst >= 1');
    this.perMs = limit.perMinute / 60_000;
    this.buckets = new LRUCache({ max: maxKeys });
  }

  /**
   * Takes one token from `key`'s bucket: 0 when there was one, else the whole seconds after
   * which there will be one (at least 1), and nothing is taken.
   */
  take(key: string): number {
    const now = this.now();
    const bucket = this.buckets.get(key);
    if (bucket === undefined) {
      this.buckets.set(key, { tokens: this.limit.burst - 1, at: now });
      return 0;
    }
    const tokens = Math.min(this.limit.burst, bucket.tokens + (now - bucket.at) * this.perMs);
    bucket.at = now;
    // The epsilon keeps a client that waited exactly the Retry-After it was given from being
    // refused again by a rounding error.
    if (tokens >= 1 - 1e-9) {
      bucket.tokens = Math.max(0, tokens - 1);
      return 0;
    }
    bucket.tokens = tokens;
    return Math.max(1, Math.ceil((1 - tokens) / this.perMs / 1000));
  }

  /** Keys with a bucket right now (at most `maxKeys`). */
  get size(): number {
    return this.buckets.size;
  }
}
