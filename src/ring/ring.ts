import { Arc, arcLength } from './arc';
import { MAX_POINT, RING_SIZE } from './hash';

export interface RingPoint {
  point: number;
  shard: string;
}

// One class for every invalid ring or lookup, so callers can tell a bad ring change from an I/O failure.
export class RingError extends Error {
  override readonly name = 'RingError';
}

// Invariant: an immutable, valid ring: >= 1 point, integer points in [0, MAX_POINT], unique points and shard names, sorted by point.
export class Ring {
  readonly points: readonly RingPoint[];
  // Kept apart from `points` so the per-request lookup touches one flat array only.
  private readonly sortedPoints: readonly number[];
  private readonly indexByShard: ReadonlyMap<string, number>;

  constructor(points: readonly RingPoint[]) {
    if (points.length === 0) throw new RingError('a ring needs at least one point');
    const shards = new Set<string>();
    const seenPoints = new Set<number>();
    for (const { point, shard } of points) {
      if (!Number.isInteger(point) || point < 0 || point > MAX_POINT) {
        throw new RingError(`point ${point} of shard "${shard}" is not an integer in [0, ${MAX_POINT}]`);
      }
      if (typeof shard !== 'string' || shard.length === 0) {
        throw new RingError(`the shard at point ${point} has no name`);
      }
      if (seenPoints.has(point)) throw new RingError(`point ${point} appears twice`);
      if (shards.has(shard)) throw new RingError(`shard "${shard}" appears twice`);
      seenPoints.add(point);
      shards.add(shard);
    }
    const sorted = points.map(({ point, shard }) => Object.freeze({ point, shard })).sort((a, b) => a.point - b.point);
    this.points = Object.freeze(sorted);
    this.sortedPoints = Object.freeze(sorted.map((p) => p.point));
    this.indexByShard = new Map(sorted.map((p, i) => [p.shard, i]));
  }

  // Invariant: exactly one shard owns each hash: the greatest point <= hash, else the greatest point (the arc wrapping past MAX_POINT).
  ownerOf(hash: number): string {
    // A hash outside uint32 is a caller bug (typically a signed CRC without `>>> 0`); routing it
    // anyway would silently send it to the wrapping shard.
    if (!Number.isInteger(hash) || hash < 0 || hash > MAX_POINT) {
      throw new RingError(`hash ${hash} is not an integer in [0, ${MAX_POINT}]`);
    }
    const pts = this.sortedPoints;
    // Binary search for the last index with pts[i] <= hash; -1 when hash is before the first point.
    let lo = 0;
    let hi = pts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (pts[mid] <= hash) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return this.points[found === -1 ? pts.length - 1 : found].shard;
  }

  // Invariant: the shard owns exactly [its point, next point), wrapping; the full circle when it is the only shard.
  arcOf(shard: string): Arc {
    const i = this.indexOf(shard);
    const next = (i + 1) % this.points.length;
    return { start: this.points[i].point, end: this.points[next].point };
  }

  // Invariant: true iff some point of this ring belongs to shard.
  has(shard: string): boolean {
    return this.indexByShard.has(shard);
  }

  // Invariant: every shard once, in ascending point order.
  shards(): string[] {
    return this.points.map((p) => p.shard);
  }

  // Invariant: the point at which shard's arc starts; throws RingError for an unknown shard.
  pointOf(shard: string): number {
    return this.points[this.indexOf(shard)].point;
  }

  // Invariant: a new ring with one more point; this ring is unchanged; throws if point or shard is taken.
  withPoint(point: number, shard: string): Ring {
    return new Ring([...this.points, { point, shard }]);
  }

  // Invariant: a new ring without shard, whose arc the previous point's shard absorbs; throws for an unknown or last shard.
  without(shard: string): Ring {
    this.indexOf(shard);
    return new Ring(this.points.filter((p) => p.shard !== shard));
  }

  // Invariant: same points, with oldShard's point now owned by newShard: the whole arc moves to a fresh database.
  renamed(oldShard: string, newShard: string): Ring {
    this.indexOf(oldShard);
    return new Ring(this.points.map((p) => (p.shard === oldShard ? { point: p.point, shard: newShard } : p)));
  }

  // Invariant: plain copies sorted by point, so that new Ring(ring.toJSON()) equals ring.
  toJSON(): RingPoint[] {
    return this.points.map(({ point, shard }) => ({ point, shard }));
  }

  private indexOf(shard: string): number {
    const i = this.indexByShard.get(shard);
    if (i === undefined) throw new RingError(`unknown shard "${shard}"`);
    return i;
  }
}

// Invariant: shard i sits at floor(i * MAX_POINT / n), computed exactly, so every deployment derives the same ring.
export function freshRing(shardNames: string[]): Ring {
  const n = BigInt(shardNames.length);
  // BigInt keeps the division exact for any n; with floats, i * MAX_POINT / n is exact only
  // while i * MAX_POINT < 2^53 and the quotient is not within rounding of the next integer.
  return new Ring(shardNames.map((shard, i) => ({ point: Number((BigInt(i) * BigInt(MAX_POINT)) / n), shard })));
}

// Invariant: p + floor(len / 2) mod 2^32 for shard's arc [p, q), len = (q - p) mod 2^32 (2^32 when alone); throws if len < 2.
export function midpointOf(ring: Ring, shard: string): number {
  const arc = ring.arcOf(shard);
  const len = arcLength(arc);
  // With len < 2 the midpoint would be p itself, leaving one of the two halves empty.
  if (len < 2) throw new RingError(`the arc of shard "${shard}" is too short to split (${len} hash)`);
  return (arc.start + Math.floor(len / 2)) % RING_SIZE;
}

// Invariant: newShard takes the upper half [midpoint, q) of shard's arc; no other hash changes owner.
export function midpointSplit(ring: Ring, shard: string, newShard: string): Ring {
  return ring.withPoint(midpointOf(ring, shard), newShard);
}
