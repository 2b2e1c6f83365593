import * as CRC32 from 'crc-32';

// The ring is the whole uint32 space: hashes and points are integers in [0, MAX_POINT].
export const MAX_POINT = 4294967295;
// 2^32, one past MAX_POINT: the modulus for arc arithmetic and the exclusive end of the last segment.
export const RING_SIZE = 4294967296;

// Invariant: returns an integer in [0, MAX_POINT]; ids differing only in letter case hash equally.
export function ringHash(dialogId: string): number {
  // Lower-casing makes an upper-case UUID from a client land on the same shard as the
  // canonical form; `>>> 0` because crc-32 returns a signed int32 and the ring is unsigned.
  return CRC32.str(dialogId.toLowerCase()) >>> 0;
}
