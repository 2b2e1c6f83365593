import { Injectable } from '@nestjs/common';

/** What the copier's throttle reacts to: the latest two seconds. */
const WINDOW_MS = 2_000;
/** How far back the baseline before a job looks. */
export const BASELINE_MS = 10_000;
const MAX_SAMPLES = 50_000;

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

  /** p99 over the last `windowMs`, or null with too few requests to say. */
  p99(windowMs = WINDOW_MS, now = Date.now()): number | null {
    this.samples = this.samples.filter((s) => now - s.at <= BASELINE_MS);
    const recent = this.samples.filter((s) => now - s.at <= windowMs);
    if (recent.length < 20) return null;
    const sorted = recent.map((s) => s.ms).sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))];
  }
}
