import { Arc, arcLength, arcShare, MovedArc, RING_SIZE, RingPoint } from '../ring';
import type { Label, Marker, RingLayout, Xy } from './page/state-view';

/**
 * Geometry of the state page's ring drawing, computed here rather than in the browser so it
 * is plain, tested TypeScript: hash 0 is at 12 o'clock and hashes grow clockwise, every
 * shard's arc drawn to scale. Coordinates are SVG user units in a square viewBox.
 */

export const LAYOUT = { size: 440, radius: 140, band: 18, labelRadius: 164, pointLabelRadius: 102, movingRadius: 123, movingLabelRadius: 96 } as const;

const round = (n: number) => Math.round(n * 100) / 100;

/** Radians clockwise from 12 o'clock; `point` may be RING_SIZE (a full turn). */
export function angleOf(point: number): number {
  return (point / RING_SIZE) * 2 * Math.PI;
}

export function polar(center: number, radius: number, angle: number): Xy {
  return { x: round(center + radius * Math.sin(angle)), y: round(center - radius * Math.cos(angle)) };
}

/**
 * SVG path of the half-open arc [start, end) going clockwise at `radius`; the full circle
 * (start === end, the arc of a lone shard) as two half circles, since one SVG arc command
 * cannot start and end at the same place.
 */
export function arcPath(arc: Arc, center: number, radius: number): string {
  const length = arcLength(arc);
  const from = polar(center, radius, angleOf(arc.start));
  if (length === RING_SIZE) {
    const half = polar(center, radius, angleOf(arc.start) + Math.PI);
    return `M ${from.x} ${from.y} A ${radius} ${radius} 0 1 1 ${half.x} ${half.y} A ${radius} ${radius} 0 1 1 ${from.x} ${from.y}`;
  }
  const to = polar(center, radius, angleOf(arc.start + length));
  const large = length > RING_SIZE / 2 ? 1 : 0;
  return `M ${from.x} ${from.y} A ${radius} ${radius} 0 ${large} 1 ${to.x} ${to.y}`;
}

function anchorAt(center: number, x: number): Label['anchor'] {
  if (x > center + 8) return 'start';
  if (x < center - 8) return 'end';
  return 'middle';
}

function labelAt(center: number, radius: number, angle: number, inward = false): Label {
  const at = polar(center, radius, angle);
  const side = anchorAt(center, at.x);
  // Text inside the ring reads toward the centre, so its anchor is the mirror image.
  const anchor = inward ? ({ start: 'end', end: 'start', middle: 'middle' } as const)[side] : side;
  return { ...at, anchor };
}

/**
 * A stable palette slot per shard name: shard-N takes slot N, so neighbours on a fresh ring
 * and a new shard from a split get distinct colours, and a shard keeps its colour as the
 * ring changes. Other names fall back to a string hash.
 */
export function colorOf(shard: string, slots = 8): number {
  const n = /(\d+)$/.exec(shard);
  if (n) return Number(n[1]) % slots;
  let h = 0;
  for (const c of shard) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return h % slots;
}

/** Lays out a ring (points in any order), the arcs a reshard moves, and its not-yet-placed targets. */
export function ringLayout(points: readonly RingPoint[], moving: readonly MovedArc[] = []): RingLayout {
  const { size, radius, band, labelRadius, pointLabelRadius, movingRadius, movingLabelRadius } = LAYOUT;
  const center = size / 2;
  const sorted = [...points].sort((a, b) => a.point - b.point);
  const arcs = sorted.map(({ point, shard }, i) => {
    const arc = { start: point, end: sorted[(i + 1) % sorted.length].point };
    const middle = angleOf(point) + angleOf(arcLength(arc)) / 2;
    return {
      shard,
      ...arc,
      share: arcShare(arc),
      d: arcPath(arc, center, radius),
      color: colorOf(shard),
      label: labelAt(center, labelRadius, middle),
    };
  });
  const marker = ({ point, shard }: RingPoint): Marker => {
    const inner = polar(center, radius - band / 2 - 4, angleOf(point));
    const outer = polar(center, radius + band / 2 + 4, angleOf(point));
    return {
      shard,
      point,
      color: colorOf(shard),
      ...polar(center, radius, angleOf(point)),
      tick: { x1: inner.x, y1: inner.y, x2: outer.x, y2: outer.y },
      label: labelAt(center, pointLabelRadius, angleOf(point), true),
    };
  };
  const onRing = new Set(sorted.map((p) => p.shard));
  // A split's target starts where its moved arc starts; a move's takes over the source's point.
  const pending = moving.filter((m) => !onRing.has(m.target)).map((m) => marker({ point: m.start, shard: m.target }));
  return {
    size,
    center,
    radius,
    arcs,
    markers: sorted.map(marker),
    moving: moving.map((m) => ({
      ...m,
      d: arcPath(m, center, movingRadius),
      color: colorOf(m.target),
      label: labelAt(center, movingLabelRadius, angleOf(m.start) + angleOf(arcLength(m)) / 2, true),
    })),
    pending: pending.filter((p, i) => pending.findIndex((q) => q.shard === p.shard) === i),
  };
}
