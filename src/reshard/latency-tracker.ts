import { monitorEventLoopDelay, IntervalHistogram } from 'node:perf_hooks';
import { Injectable, OnModuleDestroy } from '@nestjs/common';

/** What the copier's throttle reacts to: the latest two seconds. */
const WINDOW_MS = 2_000;
/** How far back the baseline before a job looks. */
export const BASELINE_MS = 10_000;
/** The most recent requests kept; at a higher rate the windows hold only these. */
export const MAX_SAMPLES = 50_000;

/**
 * Recent latencies of data-path requests on this instance, so the copier can back off
 * while live traffic suffers rather than only obey a fixed rows/s cap. A request's own
 * latency starts when Fastify has read it; the time it waited before that, behind a busy
 * event loop, shows as event-loop delay, which is added in.
 */
@Injectable()
export class LatencyTracker implements OnModuleDestroy {
  // A ring of the latest requests: recording is O(1) and allocates nothing. (An array
  // trimmed with splice cost every request a 50,000-element shift once it was full.)
  private readonly at = new Float64Array(MAX_SAMPLES);
  private readonly ms = new Float64Array(MAX_SAMPLES);
  private next = 0;
  private size = 0;
  private readonly loop: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private loopResetAt = Date.now();
  private loopP99Ms = 0;

  constructor() {
    this.loop.enable();
  }

  record(ms: number, now = Date.now()): void {
    this.at[this.next] = now;
    this.ms[this.next] = ms;
    this.next = (this.next + 1) % MAX_SAMPLES;
    if (this.size < MAX_SAMPLES) this.size++;
  }

  /** Requests' p99 plus the event loop's p99 delay over the last `windowMs`, or null with too few requests to say. */
  p99(windowMs = WINDOW_MS, now = Date.now()): number | null {
    const recent: number[] = [];
    for (let k = 0; k < this.size; k++) {
      if (now - this.at[k] <= windowMs) recent.push(this.ms[k]);
    }
    if (recent.length < 20) return null;
    recent.sort((a, b) => a - b);
    return recent[Math.min(recent.length - 1, Math.floor(recent.length * 0.99))] + this.loopDelayP99(now);
  }

  /** The event loop's p99 delay beyond its sampling interval, renewed once a window. */
  private loopDelayP99(now: number): number {
    if (now - this.loopResetAt >= WINDOW_MS && this.loop.count > 0) {
      // The histogram is in nanoseconds and includes the 10 ms sampling interval itself.
      this.loopP99Ms = Math.max(0, this.loop.percentile(99) / 1e6 - 10);
      this.loop.reset();
      this.loopResetAt = now;
    }
    return this.loopP99Ms;
  }

  onModuleDestroy(): void {
    this.loop.disable();
  }
}
