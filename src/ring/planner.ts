import { Ring } from './ring';

// A half-open arc [start, end) (Arc convention: may wrap, start === end is the full circle)
// whose hashes belong to `source` in the old ring and to `target` in the new one.
export interface MovedArc {
  start: number;
  end: number;
  source: string;
  target: string;
}

// Invariant: the arcs are disjoint, sorted by start, cover exactly the hashes whose owner differs, and are maximal per (source, target).
export function planRingChange(oldRing: Ring, newRing: Ring): MovedArc[] {
  // Owners can only change at a point of either ring, so the union of points cuts the circle
  // into elementary arcs whose owner is constant in both rings: probing each start suffices.
  const cuts = [...new Set([...oldRing.points, ...newRing.points].map((p) => p.point))].sort((a, b) => a - b);
  const moved: MovedArc[] = [];
  for (let i = 0; i < cuts.length; i++) {
    const start = cuts[i];
    const end = cuts[(i + 1) % cuts.length];
    const source = oldRing.ownerOf(start);
    const target = newRing.ownerOf(start);
    if (source === target) continue;
    const last = moved[moved.length - 1];
    if (last !== undefined && last.end === start && last.source === source && last.target === target) {
      last.end = end;
    } else {
      moved.push({ start, end, source, target });
    }
  }
  // The arc ending at the last cut and the one starting at the first are neighbours across 0;
  // merging them keeps a wrapping move as one arc. Not when a single arc already spans everything.
  if (moved.length > 1) {
    const first = moved[0];
    const last = moved[moved.length - 1];
    if (last.end === first.start && last.source === first.source && last.target === first.target) {
      first.start = last.start;
      moved.pop();
    }
  }
  return moved.sort((a, b) => a.start - b.start);
}
