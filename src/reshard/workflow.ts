import { Arc, arcSegments, MovedArc, Ring, RingPoint, Segment } from '../ring';

/**
 * The one definition of a reshard's workflow: its phases, their legal transitions, which
 * are cancellable or terminal, and what each step does to the ring and to the arcs each
 * shard serves. The runner, the job repository's SQL guards, the DTOs, the CLI and the state
 * page derive from these lists rather than spelling phases out again. Pure: no I/O.
 */
/** Every path a job takes visits phases in this order, so it also orders a job's history. */
export const PHASES = ['prepare', 'copy', 'verify', 'failed', 'cutover', 'cleanup', 'done', 'cancelled'] as const;
export type Phase = (typeof PHASES)[number];

/** Phases a runner drives, in order. */
export const RUNNING_PHASES: readonly Phase[] = ['prepare', 'copy', 'verify', 'cutover', 'cleanup'];
/** Before cutover the old ring can still be restored with nothing lost. */
export const CANCELLABLE_PHASES: readonly Phase[] = ['prepare', 'copy', 'verify', 'failed'];
/** A job here is over: it publishes nothing more and holds no ring in transition. */
export const TERMINAL_PHASES: readonly Phase[] = ['done', 'cancelled'];

/** Legal moves between phases. `failed` is verification's verdict; only cancel leaves it. */
export const TRANSITIONS: Readonly<Record<Phase, readonly Phase[]>> = {
  prepare: ['copy', 'cancelled'],
  copy: ['verify', 'cancelled'],
  verify: ['cutover', 'failed', 'cancelled'],
  cutover: ['cleanup'],
  cleanup: ['done'],
  failed: ['cancelled'],
  done: [],
  cancelled: [],
};

export function isPhase(value: unknown): value is Phase {
  return typeof value === 'string' && (PHASES as readonly string[]).includes(value);
}

export function canMove(from: Phase, to: Phase): boolean {
  return TRANSITIONS[from].includes(to);
}

/**
 * What a shard does with a hash it serves (see the shard migration `Ownership`):
 * `owner` takes writes and serves reads alone; `writer` takes writes, serves merged reads,
 * and reads alone only where the rows copied in are complete; `reader` refuses writes and
 * serves merged reads only. `null`: the shard refuses the hash altogether.
 */
export type ArcMode = 'owner' | 'writer' | 'reader';

/** The modes of the moved arcs on the job's two sides at one step. */
export interface Grant {
  source: ArcMode | null;
  target: ArcMode | null;
}

/**
 * The steps that change which shard serves the moved arcs, in the order a job takes them.
 * At every step at most one side takes writes, and a side that loses writes is changed
 * before the side that gains them (see `grantOrder`), so two shards never both accept a write
 * of the same hash.
 */
export const GRANTS = {
  /** Before the job: the target may be read (it is empty), never written. Ring v+1, writes to the source. */
  prepare: { source: 'owner', target: 'reader' },
  /** Writes go to the target; the source's rows are read only merged, while they are copied. Ring v+2. */
  copy: { source: 'reader', target: 'writer' },
  /** The copy is verified: the target alone. The source's copy may still be read merged by a stale router. Ring v+3. */
  cutover: { source: 'reader', target: 'owner' },
  /** Nobody reads the source's copy any more; it is deleted next. */
  cleanup: { source: null, target: 'owner' },
  /** A cancel sends writes back to the source; reads merge both until the target's rows are merged back. */
  cancel: { source: 'writer', target: 'reader' },
  /** The source holds everything again and serves reads alone; the old ring is published. */
  restore: { source: 'owner', target: 'reader' },
  /** The target's copy is no one's any more; it is deleted next. */
  released: { source: 'owner', target: null },
} as const satisfies Record<string, Grant>;
export type GrantStep = keyof typeof GRANTS;

/** True when a shard in this mode accepts writes. */
export function writable(mode: ArcMode | null): boolean {
  return mode === 'owner' || mode === 'writer';
}

/** The sides in the order their arcs change: the one that does not take writes after the step first. */
export function grantOrder(grant: Grant): Array<'source' | 'target'> {
  return writable(grant.source) ? ['target', 'source'] : ['source', 'target'];
}

/** One row of a shard's `shard_arcs`: a non-wrapping SQL range and how the shard serves it. */
export interface ArcGrant extends Segment {
  mode: ArcMode;
}

/**
 * The ranges a shard serves at one step of a job from `oldPoints` to `newPoints`: its arcs
 * that do not move as `owner`, the moved arcs with its side's mode. Sorted, disjoint, and
 * adjacent ranges of one mode merged. With equal rings (no job), simply the shard's own arc.
 * Invariant: the ranges are half-open [from, to) within [0, 2^32) and never overlap.
 */
export function shardGrants(oldPoints: readonly RingPoint[], newPoints: readonly RingPoint[], grant: Grant, shard: string): ArcGrant[] {
  const oldRing = new Ring(oldPoints);
  const newRing = new Ring(newPoints);
  // Owners change only at points of either ring, so these cuts give arcs of constant owners.
  const cuts = [...new Set([...oldRing.points, ...newRing.points].map((p) => p.point))].sort((a, b) => a - b);
  const out: ArcGrant[] = [];
  for (let i = 0; i < cuts.length; i++) {
    const arc: Arc = { start: cuts[i], end: cuts[(i + 1) % cuts.length] };
    const before = oldRing.ownerOf(arc.start);
    const after = newRing.ownerOf(arc.start);
    let mode: ArcMode | null = null;
    if (before === after) mode = before === shard ? 'owner' : null;
    else if (before === shard) mode = grant.source;
    else if (after === shard) mode = grant.target;
    if (mode) for (const segment of arcSegments(arc)) out.push({ ...segment, mode });
  }
  out.sort((a, b) => a.from - b.from);
  const merged: ArcGrant[] = [];
  for (const g of out) {
    const last = merged[merged.length - 1];
    if (last && last.to === g.from && last.mode === g.mode) last.to = g.to;
    else merged.push({ ...g });
  }
  return merged;
}

/** The ranges every shard of a ring with no job in progress serves: its own arc, as owner. */
export function ownedGrants(points: readonly RingPoint[], shard: string): ArcGrant[] {
  return shardGrants(points, points, GRANTS.released, shard);
}

/** The shards one job touches and which side each is on. */
export function sides(moved: readonly MovedArc[]): { sources: string[]; targets: string[] } {
  return { sources: [...new Set(moved.map((a) => a.source))], targets: [...new Set(moved.map((a) => a.target))] };
}
