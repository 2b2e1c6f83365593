import { arcContains, MovedArc, Ring, ringHash } from '../ring';

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

export interface RingState {
  version: number;
  /** The ring that owns data; during a reshard, still the old one until cutover. */
  ring: Ring;
  transition: Transition | null;
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
    const [write, other] =
      state.transition!.mode === 'write-target' ? [moving.target, moving.source] : [moving.source, moving.target];
    return { dialogId, hash, write, reads: [write, other] };
  }
  const owner = state.ring.ownerOf(hash);
  return { dialogId, hash, write: owner, reads: [owner] };
}
