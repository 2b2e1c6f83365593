/**
 * A shard refused a statement because it does not serve that ring hash for that access
 * (SQLSTATE SF001 from its ownership check): the ring moved on, so the caller reloads it
 * and runs again on the new route.
 */
export class OwnershipError extends Error {
  constructor(
    readonly shard: string,
    readonly access: string,
  ) {
    super(`shard ${shard} does not serve this ${access}: the ring has moved on`);
    this.name = 'OwnershipError';
  }
}

export const OWNERSHIP_SQLSTATE = 'SF001';
