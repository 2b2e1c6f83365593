import { randomBytes } from 'node:crypto';
import { arcSegments, freshRing, midpointSplit, planRingChange, Ring, ringHash } from '../src/ring';

/** One ring size on the way from 2 to N shards. */
export interface BalanceStep {
  shards: number;
  /** Dialogs on the fullest shard ÷ the mean per shard. */
  maxOverMean: number;
  /** Dialogs on the emptiest shard ÷ the mean per shard. */
  minOverMean: number;
}

export interface BalanceRun {
  dialogs: number;
  steps: BalanceStep[];
  /** Dialogs each split moved to its new shard, in split order. */
  movedPerSplit: number[];
  /** Dialogs any split took from a shard other than the one split: 0 by the midpoint rule. */
  movedFromOthers: number;
  seconds: number;
}

/** Hashes of `n` random dialog ids (UUIDv4, as clients might make them), sorted. */
export function randomHashes(n: number): Uint32Array {
  const out = new Uint32Array(n);
  const CHUNK = 65_536;
  for (let start = 0; start < n; start += CHUNK) {
    const bytes = randomBytes(16 * CHUNK);
    for (let i = start; i < Math.min(n, start + CHUNK); i++) {
      const b = bytes.subarray(16 * (i - start), 16 * (i - start + 1));
      b[6] = (b[6] & 0x0f) | 0x40;
      b[8] = (b[8] & 0x3f) | 0x80;
      const h = b.toString('hex');
      out[i] = ringHash(`${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`);
    }
  }
  return out.sort();
}

/** How many of the sorted hashes lie in [from, to). */
function countIn(sorted: Uint32Array, from: number, to: number): number {
  const lowerBound = (x: number) => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return lowerBound(to) - lowerBound(from);
}

function dialogsOf(ring: Ring, sorted: Uint32Array, shard: string): number {
  return arcSegments(ring.arcOf(shard)).reduce((n, s) => n + countIn(sorted, s.from, s.to), 0);
}

/**
 * Grows a ring from 2 shards to `upTo` by always splitting the shard holding the most
 * dialogs at the midpoint of its arc, as an operator following the hot-shard ranking would,
 * and reports the balance at each power of two and what every split moved.
 */
export function simulateBalance(sorted: Uint32Array, upTo: number): BalanceRun {
  const started = Date.now();
  let ring = freshRing(['s0', 's1']);
  const steps: BalanceStep[] = [];
  const movedPerSplit: number[] = [];
  let movedFromOthers = 0;
  const record = () => {
    const counts = ring.shards().map((s) => dialogsOf(ring, sorted, s));
    const mean = sorted.length / counts.length;
    steps.push({ shards: counts.length, maxOverMean: Math.max(...counts) / mean, minOverMean: Math.min(...counts) / mean });
  };
  for (let n = 2; n < upTo; n++) {
    if ((n & (n - 1)) === 0 && n >= 4) record();
    const hottest = ring.shards().reduce((a, b) => (dialogsOf(ring, sorted, b) > dialogsOf(ring, sorted, a) ? b : a));
    const next = midpointSplit(ring, hottest, `s${n}`);
    for (const arc of planRingChange(ring, next)) {
      const moved = arcSegments(arc).reduce((m, s) => m + countIn(sorted, s.from, s.to), 0);
      if (arc.source === hottest) movedPerSplit.push(moved);
      else movedFromOthers += moved;
    }
    ring = next;
  }
  record();
  return { dialogs: sorted.length, steps, movedPerSplit, movedFromOthers, seconds: (Date.now() - started) / 1000 };
}
