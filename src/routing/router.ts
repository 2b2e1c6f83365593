import { arcContains, arcSegments, MovedArc, Ring, ringHash } from '../ring';

/**
 * How a reshard in progress treats the arcs that move. `write-source`: writes still go to
 * the source, reads merge both (every instance must read the target before anyone writes
 * there). `write-target`: writes go to the target, reads merge both until cutover.
 */
export type TransitionMode = 'write-source' | 'write-target';

export interface Transition {
  jobId: string;
  mode: TransitionMode;
  moved: MovedArc[];
}

/**
 * How far a `write-target` transition's copy has gone, in the copier's order: every hash
 * before `hash` in segment `segment` of the moved arcs' segments (and every hash of the
 * earlier segments) has all its source rows on the target.
 */
export interface CopyProgress {
  segment: number;
  hash: number;
}

/** Progress past every segment: the copy is complete. */
export const COPY_COMPLETE: CopyProgress = { segment: Number.POSITIVE_INFINITY, hash: 0 };

export interface RingState {
  version: number;
  /** The ring that owns data; during a reshard, still the old one until cutover. */
  ring: Ring;
  transition: Transition | null;
  /** For a `write-target` transition, as last read from its job; null until the first checkpoint. */
  copied?: CopyProgress | null;
}

/**
 * Where one dialog's messages go: one shard takes writes; reads merge `reads` in order,
 * the first shard's copy of a message winning (it is the one being written).
 */
export interface Route {
  dialogId: string;
  hash: number;
  write: string;
  reads: string[];
}

/** A dialog is served by the owner of its hash, except in a moving arc, which the transition decides. */
export function routeDialog(state: RingState, dialogId: string): Route {
  const hash = ringHash(dialogId);
  const moving = state.transition?.moved.find((arc) => arcContains(arc, hash));
  if (moving) {
    if (state.transition!.mode === 'write-source') return { dialogId, hash, write: moving.source, reads: [moving.source, moving.target] };
    // The source takes no writes of the arc from the copy step on, so once the copier is past a
    // hash the target holds all of that dialog's messages: one shard to read, as after cutover
    // (and the target itself refuses such a read until its copy is past the hash).
    const copied = state.copied && copiedPast(state.transition!.moved, state.copied, hash);
    return { dialogId, hash, write: moving.target, reads: copied ? [moving.target] : [moving.target, moving.source] };
  }
  const owner = state.ring.ownerOf(hash);
  return { dialogId, hash, write: owner, reads: [owner] };
}

/** Whether the copy has moved every source row of this hash (segments in the copier's order). */
export function copiedPast(moved: MovedArc[], progress: CopyProgress, hash: number): boolean {
  const segments = moved.flatMap((arc) => arcSegments(arc));
  const at = segments.findIndex((s) => s.from <= hash && hash < s.to);
  return at >= 0 && (at < progress.segment || (at === progress.segment && hash < progress.hash));
}
