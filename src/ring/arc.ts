import { RING_SIZE } from './hash';

// Half-open [start, end) on the circle; it wraps past MAX_POINT to 0 when end <= start, and
// start === end is the full circle (the arc of the only shard of a ring).
export interface Arc {
  start: number;
  end: number;
}

// A non-wrapping half-open interval [from, to) with 0 <= from < to <= RING_SIZE.
export interface Segment {
  from: number;
  to: number;
}

// Invariant: true iff hash lies in [start, end) going clockwise; the full circle contains everything.
export function arcContains(arc: Arc, hash: number): boolean {
  if (arc.start === arc.end) return true;
  if (arc.start < arc.end) return hash >= arc.start && hash < arc.end;
  return hash >= arc.start || hash < arc.end;
}

// Invariant: the number of hashes in the arc, in [1, RING_SIZE]; the full circle is RING_SIZE.
export function arcLength(arc: Arc): number {
  if (arc.start === arc.end) return RING_SIZE;
  return (arc.end - arc.start + RING_SIZE) % RING_SIZE;
}

// Invariant: disjoint non-empty segments, in clockwise order from arc.start, whose union is exactly the arc.
export function arcSegments(arc: Arc): Segment[] {
  // `to` may be RING_SIZE so each segment is a plain `ring_hash >= from AND ring_hash < to`
  // range scan; a wrapping arc needs two scans because SQL ranges do not wrap.
  if (arc.start === arc.end) return [{ from: 0, to: RING_SIZE }];
  if (arc.start < arc.end) return [{ from: arc.start, to: arc.end }];
  const segments: Segment[] = [{ from: arc.start, to: RING_SIZE }];
  if (arc.end > 0) segments.push({ from: 0, to: arc.end });
  return segments;
}

// Invariant: arcLength / RING_SIZE, in (0, 1]; 1 only for the full circle.
export function arcShare(arc: Arc): number {
  return arcLength(arc) / RING_SIZE;
}
