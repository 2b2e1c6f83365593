import { EventLoopUtilization, monitorEventLoopDelay, IntervalHistogram, performance } from 'node:perf_hooks';
import { Injectable, OnModuleDestroy } from '@nestjs/common';

/** What the copier's throttle reacts to: the latest two seconds. */
const WINDOW_MS = 2_000;
/** How often the event loop's busy share is renewed. */
const BUSY_WINDOW_MS = 1_000;
/** How far back the baseline before a job looks. */
export const BASELINE_MS = 10_000;
/** Below this a p99 target would hold a job back on the jitter of an idle service. */
const MIN_TARGET_MS = 20;
/** Above this busy share the event loop is saturated, whatever latency requests show. */
const LOOP_SATURATED = 0.9;
/** Reshard jobs whose targets are remembered; more than a few never run at once. */
const TARGETS_KEPT = 8;
/** The most recent requests kept; at a higher rate the windows hold only these. */
export const MAX_SAMPLES = 50_000;

/**
 * Recent latencies of data-path requests on this instance, so the copier can back off
 * while live traffic suffers rather than only obey a fixed rows/s cap. A request's own
 * latency starts when Fastify has read it; the time it waited before that, behind a busy
 * event loop, shows as event-loop delay, which is added in.
 */
/** What live traffic on one instance feels now. */
export interface LiveNow {
  /** Requests' p99 over the last 2 s plus the event loop's p99 delay, ms; null with too few requests to judge. */
  p99: number | null;
  /** The event loop's busy share over the last second, 0 to 1. */
  loopBusy: number;
}

/** Live traffic suffers: p99 over the target, or a saturated event loop. False with too few requests to say. */
export function strained(live: LiveNow, targetMs: number): boolean {
  return live.p99 !== null && (live.p99 > targetMs || live.loopBusy > LOOP_SATURATED);
}

export interface JobTarget {
  targetMs: number;
  /** The p99 it was derived from; null with too few requests before the job (or when configured). */
  baselineMs: number | null;
}

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
  private busySince: EventLoopUtilization = performance.eventLoopUtilization();
  private busyAt = Date.now();
  private busy = 0;
  private readonly targets = new Map<string, JobTarget>();

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

  /**
   * The share of the last second or so that the event loop spent running code rather than
   * waiting for I/O (0 to 1). Near 1 the service is saturated: requests wait in its sockets,
   * where no request latency it measures can see them.
   */
  loopBusy(now = Date.now()): number {
    if (now - this.busyAt >= BUSY_WINDOW_MS) {
      const current = performance.eventLoopUtilization();
      this.busy = performance.eventLoopUtilization(current, this.busySince).utilization;
      this.busySince = current;
      this.busyAt = now;
    }
    return this.busy;
  }

  /**
   * The live p99 a reshard job keeps this instance under: `fixedMs` when configured, else
   * twice the p99 of the 10 s before the first ask (when this instance first served the
   * job's ring, or began to run it), at least 20 ms, so a reshard at most doubles the
   * latency users see. Fixed per job from then on.
   */
  targetFor(jobId: string, fixedMs: number | null): JobTarget {
    let target = this.targets.get(jobId);
    if (target === undefined) {
      const baselineMs = this.p99(BASELINE_MS);
      target = { targetMs: fixedMs ?? Math.round(Math.max(MIN_TARGET_MS, 2 * (baselineMs ?? 0))), baselineMs };
      this.targets.set(jobId, target);
      if (this.targets.size > TARGETS_KEPT) this.targets.delete(this.targets.keys().next().value!);
    }
    return target;
  }

  live(now = Date.now()): LiveNow {
    return { p99: this.p99(WINDOW_MS, now), loopBusy: this.loopBusy(now) };
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
