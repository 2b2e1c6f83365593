import { freshRing, midpointSplit, planRingChange, RING_SIZE } from '../ring';
import { angleOf, arcPath, colorOf, LAYOUT, polar, ringLayout } from './ring-layout';

const C = 200;
const R = 100;

/** Start point, radii, flags and end point of a one-arc path "M x y A r r 0 large sweep x y". */
function parseArc(d: string) {
  const m = /^M (\S+) (\S+) A (\S+) (\S+) 0 ([01]) ([01]) (\S+) (\S+)$/.exec(d);
  if (!m) throw new Error(`not a one-arc path: ${d}`);
  const [x1, y1, rx, ry, large, sweep, x2, y2] = m.slice(1).map(Number);
  return { x1, y1, rx, ry, large, sweep, x2, y2 };
}

describe('ring geometry', () => {
  it('puts hash 0 at 12 o\'clock and grows clockwise', () => {
    expect(polar(C, R, angleOf(0))).toEqual({ x: 200, y: 100 });
    expect(polar(C, R, angleOf(RING_SIZE / 4))).toEqual({ x: 300, y: 200 });
    expect(polar(C, R, angleOf(RING_SIZE / 2))).toEqual({ x: 200, y: 300 });
    expect(polar(C, R, angleOf((3 * RING_SIZE) / 4))).toEqual({ x: 100, y: 200 });
  });

  it('draws a quarter arc as a small clockwise arc from its start to its end', () => {
    const sut = parseArc(arcPath({ start: 0, end: RING_SIZE / 4 }, C, R));
    expect(sut).toEqual({ x1: 200, y1: 100, rx: 100, ry: 100, large: 0, sweep: 1, x2: 300, y2: 200 });
  });

  it('uses the large-arc flag only past half the ring, and wraps past the top', () => {
    // [3/4, 1/2) wraps through 0 and covers three quarters.
    const sut = parseArc(arcPath({ start: (3 * RING_SIZE) / 4, end: RING_SIZE / 2 }, C, R));
    expect(sut).toMatchObject({ x1: 100, y1: 200, large: 1, sweep: 1, x2: 200, y2: 300 });
    expect(parseArc(arcPath({ start: 0, end: RING_SIZE / 2 - 1 }, C, R)).large).toBe(0);
  });

  it('draws a lone shard as a full circle of two half arcs', () => {
    const sut = arcPath({ start: 5, end: 5 }, C, R);
    expect(sut).toMatch(/^M 200 100 A 100 100 0 1 1 200 300 A 100 100 0 1 1 200 100$/);
  });

  it('keeps a shard\'s colour across ring changes, distinct for shard-0..7', () => {
    expect(new Set(Array.from({ length: 8 }, (_, i) => colorOf(`shard-${i}`))).size).toBe(8);
    expect(colorOf('messagedb-2')).toBe(colorOf('shard-2'));
    expect(colorOf('analytics')).toBe(colorOf('analytics'));
    expect(colorOf('analytics')).toBeGreaterThanOrEqual(0);
  });
});

describe('ringLayout', () => {
  it('lays out a three-shard ring to scale, one marker and one arc per shard in point order', () => {
    const sut = ringLayout([...freshRing(['shard-0', 'shard-1', 'shard-2']).toJSON()].reverse());
    expect(sut.markers.map((m) => [m.shard, m.point])).toEqual([
      ['shard-0', 0],
      ['shard-1', 1431655765],
      ['shard-2', 2863311530],
    ]);
    expect(sut.arcs.map((a) => [a.shard, a.start, a.end])).toEqual([
      ['shard-0', 0, 1431655765],
      ['shard-1', 1431655765, 2863311530],
      ['shard-2', 2863311530, 0],
    ]);
    for (const a of sut.arcs) expect(a.share).toBeCloseTo(1 / 3, 6);
    // The markers sit on the ring, where each arc starts.
    const c = LAYOUT.size / 2;
    for (const [i, m] of sut.markers.entries()) {
      expect(Math.hypot(m.x - c, m.y - c)).toBeCloseTo(LAYOUT.radius, 1);
      const arc = parseArc(sut.arcs[i].d);
      expect([arc.x1, arc.y1]).toEqual([m.x, m.y]);
      const next = sut.markers[(i + 1) % 3];
      expect([arc.x2, arc.y2]).toEqual([next.x, next.y]);
    }
    expect(sut.markers[0]).toMatchObject({ x: c, y: c - LAYOUT.radius });
    // shard-1's arc is centred at 4 o'clock, so its label sits right of the ring, reading outward.
    expect(sut.arcs[0].label.anchor).toBe('start');
    expect(sut.arcs[1].label).toMatchObject({ anchor: 'middle' });
    expect(sut.arcs[1].label.y).toBeGreaterThan(c + LAYOUT.radius);
    expect(sut.arcs[2].label.anchor).toBe('end');
    expect(sut.moving).toEqual([]);
    expect(sut.pending).toEqual([]);
  });

  it('shows a split in progress: the moving arc inside the ring and the new shard\'s point, hollow', () => {
    const old = freshRing(['shard-0', 'shard-1']);
    const moved = planRingChange(old, midpointSplit(old, 'shard-0', 'shard-2'));
    const sut = ringLayout(old.toJSON(), moved);
    expect(sut.markers.map((m) => m.shard)).toEqual(['shard-0', 'shard-1']);
    expect(sut.moving).toHaveLength(1);
    expect(sut.moving[0]).toMatchObject({ source: 'shard-0', target: 'shard-2', start: 1073741823, end: 2147483647, color: colorOf('shard-2') });
    const arc = parseArc(sut.moving[0].d);
    expect(arc.rx).toBe(LAYOUT.movingRadius);
    expect(arc.large).toBe(0);
    // From 3 o'clock to 6 o'clock.
    expect(arc.x1).toBeCloseTo(LAYOUT.size / 2 + LAYOUT.movingRadius, 1);
    expect(arc.y2).toBeCloseTo(LAYOUT.size / 2 + LAYOUT.movingRadius, 1);
    expect(sut.pending.map((p) => [p.shard, p.point])).toEqual([['shard-2', 1073741823]]);
    // "→ shard-2" sits inside the dashed arc, at its middle (half past four), reading inward.
    const c = LAYOUT.size / 2;
    expect(sut.moving[0].label.x).toBeGreaterThan(c);
    expect(sut.moving[0].label.y).toBeGreaterThan(c);
    expect(Math.hypot(sut.moving[0].label.x - c, sut.moving[0].label.y - c)).toBeLessThan(LAYOUT.movingRadius);
    expect(sut.moving[0].label.anchor).toBe('end');
  });

  it('ticks each point radially across the ring\'s band', () => {
    const c = LAYOUT.size / 2;
    const sut = ringLayout(freshRing(['shard-0', 'shard-1', 'shard-2']).toJSON());
    for (const m of sut.markers) {
      const inner = Math.hypot(m.tick.x1 - c, m.tick.y1 - c);
      const outer = Math.hypot(m.tick.x2 - c, m.tick.y2 - c);
      expect(inner).toBeLessThan(LAYOUT.radius - LAYOUT.band / 2);
      expect(outer).toBeGreaterThan(LAYOUT.radius + LAYOUT.band / 2);
      // Same direction as the marker: the cross product of (tick end - centre) and (marker - centre) is ~0.
      expect((m.tick.x2 - c) * (m.y - c) - (m.tick.y2 - c) * (m.x - c)).toBeCloseTo(0, -1);
    }
  });

  it('after cutover the target is on the ring and no longer pending', () => {
    const old = freshRing(['shard-0', 'shard-1']);
    const next = midpointSplit(old, 'shard-0', 'shard-2');
    const sut = ringLayout(next.toJSON(), planRingChange(old, next));
    expect(sut.pending).toEqual([]);
    expect(sut.markers.map((m) => m.shard)).toEqual(['shard-0', 'shard-2', 'shard-1']);
    expect(sut.arcs.map((a) => a.share)).toEqual([0.25, 0.25, 0.5].map((s) => expect.closeTo(s, 6)));
  });
});
