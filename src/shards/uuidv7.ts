/**
 * Message ids are UUIDv7: the first 48 bits are the creation time in milliseconds, so id
 * order is time order and a message's createdAt is read from its id.
 */

/** The creation time of a UUIDv7, in milliseconds since the epoch. */
export function uuidv7Ms(id: string): number {
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

/** The creation time of a UUIDv7. */
export function uuidv7Time(id: string): Date {
  return new Date(uuidv7Ms(id));
}

/** The smallest UUID of a millisecond: every UUIDv7 made at or after `ms` sorts at or above it. */
export function uuidv7Floor(ms: number): string {
  const hex = Math.max(0, Math.trunc(ms)).toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8)}-0000-0000-000000000000`;
}

/** Above every UUID: "before the newest possible id" reads from the top. */
export const AFTER_EVERY_ID = 'ffffffff-ffff-ffff-ffff-ffffffffffff';
