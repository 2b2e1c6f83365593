import * as hdr from 'hdr-histogram-js';

/** Latencies are recorded in microseconds: sub-millisecond pg round trips keep their precision. */
function histogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3, useWebAssembly: false });
}

export interface Summary {
  ok: number;
  errors: number;
  seconds: number;
  /** Successful operations per second. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface Bucket {
  /** Whole seconds since the recorder started. */
  second: number;
  ok: number;
  errors: number;
  p99Ms: number;
}

/**
 * Outcomes of one measurement: a histogram of successful latencies overall and one per
 * second of wall time, so a timeline and any window of it can be summarised alike.
 */
export class Recorder {
  readonly startedAt = Date.now();
  private readonly total = histogram();
  private readonly seconds = new Map<number, { ok: number; errors: number; hist: hdr.Histogram }>();
  private ok = 0;
  private errors = 0;
  private stoppedAt?: number;
  /** A few distinct error descriptions, to say in the report what failed. */
  readonly errorSamples = new Map<string, number>();

  record(latencyMs: number, success: boolean, at = Date.now()): void {
    const bucket = this.bucket(at);
    if (success) {
      const us = Math.max(1, Math.round(latencyMs * 1000));
      this.total.recordValue(us);
      bucket.hist.recordValue(us);
      bucket.ok++;
      this.ok++;
    } else {
      bucket.errors++;
      this.errors++;
    }
  }

  error(description: string, at = Date.now()): void {
    this.record(0, false, at);
    if (this.errorSamples.size < 20 || this.errorSamples.has(description)) {
      this.errorSamples.set(description, (this.errorSamples.get(description) ?? 0) + 1);
    }
  }

  stop(at = Date.now()): void {
    this.stoppedAt ??= at;
  }

  summary(): Summary {
    const seconds = ((this.stoppedAt ?? Date.now()) - this.startedAt) / 1000;
    return summarise(this.total, this.ok, this.errors, seconds);
  }

  /**
   * The same figures over [from, to) in epoch milliseconds, from the 1 s buckets: only those
   * wholly inside it, or with `overlapping` every bucket that touches it (so a short event
   * is never averaged away; the job's windows use this, which can only make them look worse).
   */
  window(from: number, to: number, overlapping = false): Summary {
    const merged = histogram();
    let ok = 0;
    let errors = 0;
    const round = overlapping ? [Math.floor, Math.ceil] : [Math.ceil, Math.floor];
    const first = round[0]((from - this.startedAt) / 1000);
    const last = round[1]((to - this.startedAt) / 1000); // exclusive
    for (let s = first; s < last; s++) {
      const b = this.seconds.get(s);
      if (!b) continue;
      merged.add(b.hist);
      ok += b.ok;
      errors += b.errors;
    }
    return summarise(merged, ok, errors, Math.max(0, last - first));
  }

  timeline(): Bucket[] {
    const last = Math.floor(((this.stoppedAt ?? Date.now()) - this.startedAt) / 1000);
    const out: Bucket[] = [];
    for (let s = 0; s < last; s++) {
      const b = this.seconds.get(s);
      out.push({ second: s, ok: b?.ok ?? 0, errors: b?.errors ?? 0, p99Ms: b && b.ok ? b.hist.getValueAtPercentile(99) / 1000 : 0 });
    }
    return out;
  }

  private bucket(at: number) {
    const s = Math.floor((at - this.startedAt) / 1000);
    let b = this.seconds.get(s);
    if (!b) {
      b = { ok: 0, errors: 0, hist: histogram() };
      this.seconds.set(s, b);
    }
    return b;
  }
}

function summarise(h: hdr.Histogram, ok: number, errors: number, seconds: number): Summary {
  return {
    ok,
    errors,
    seconds,
    rps: seconds > 0 ? ok / seconds : 0,
    p50Ms: ok ? h.getValueAtPercentile(50) / 1000 : 0,
    p99Ms: ok ? h.getValueAtPercentile(99) / 1000 : 0,
    maxMs: ok ? h.maxValue / 1000 : 0,
  };
}

export function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
