import { Ring, ringHash } from '../ring';

export interface RingState {
  version: number;
  ring: Ring;
}

/** Where one dialog's messages go: one shard takes writes; reads merge `reads` in order. */
export interface Route {
  dialogId: string;
  hash: number;
  write: string;
  reads: string[];
}

/** A dialog is served by exactly one shard: the owner of its hash on the ring in force. */
export function routeDialog(state: RingState, dialogId: string): Route {
  const hash = ringHash(dialogId);
  const owner = state.ring.ownerOf(hash);
  return { dialogId, hash, write: owner, reads: [owner] };
}
