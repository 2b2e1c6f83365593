import { Injectable } from '@nestjs/common';

const WINDOW_MS = 2_000;
const MAX_SAMPLES = 20_000;

/**
 * Recent latencies of data-path requests on this instance, so the copier can back off
 * while live traffic suffers rather than only obey a fixed rows/s cap.
 */
@Injectable()
export class LatencyTracker {
  private samples: Array<{ at: number; ms: number }> = [];

  record(ms: number): void {
    this.samples.push({ at: Date.now(), ms });
    if (this.samples.length > MAX_SAMPLES) this.samples.splice(0, this.samples.length - MAX_SAMPLES);
  }

  /** p99 over the last two seconds, or null with too few requests to say. */
  p99(now = Date.now()): number | null {
    this.samples = this.samples.filter((s) => now - s.at <= WINDOW_MS);
    if (this.samples.length < 20) return null;
    const sorted = this.samples.map((s) => s.ms).sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))];
  }
}
