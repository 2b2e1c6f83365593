/** The source shard refused a write because its arc has moved (SQLSTATE SF001 from the fence trigger). */
export class FenceError extends Error {
  constructor(
    readonly shard: string,
    readonly target: string,
  ) {
    super(`shard ${shard} is fenced: the arc moved to ${target}`);
    this.name = 'FenceError';
  }
}

export const FENCE_SQLSTATE = 'SF001';
