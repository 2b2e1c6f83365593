import fc from 'fast-check';
import { arcContains } from './arc';
import { MAX_POINT, RING_SIZE } from './hash';
import { MovedArc, planRingChange } from './planner';
import { Ring, freshRing, midpointSplit } from './ring';

// Points crowd 0 and MAX_POINT and the shard names come from a small pool, so independent
// rings often share points and owners: that is where merging and wrapping get exercised.
const pointArb = fc.oneof(
  fc.integer({ min: 0, max: MAX_POINT }),
  fc.integer({ min: 0, max: 4 }),
  fc.integer({ min: MAX_POINT - 4, max: MAX_POINT }),
);
const ringArb = fc
  .uniqueArray(pointArb, { minLength: 1, maxLength: 4 })
  .chain((points) =>
    fc
      .shuffledSubarray(['a', 'b', 'c', 'd'], { minLength: points.length, maxLength: points.length })
      .map((names) => new Ring(points.map((point, i) => ({ point, shard: names[i] })))),
  );
// Hashes anywhere, plus hashes at and right beside either ring's points.
const hashNear = (...rings: Ring[]) =>
  fc.oneof(
    fc.integer({ min: 0, max: MAX_POINT }),
    fc
      .tuple(fc.constantFrom(...rings.flatMap((r) => r.points.map((p) => p.point))), fc.integer({ min: -1, max: 1 }))
      .map(([p, d]) => (p + d + RING_SIZE) % RING_SIZE),
  );

const TWO = freshRing(['s0', 's1']);
const THREE = freshRing(['s0', 's1', 's2']);

describe('planRingChange', () => {
  it.each<{ name: string; oldRing: Ring; newRing: Ring; moved: MovedArc[] }>([
    { name: 'no change', oldRing: THREE, newRing: THREE, moved: [] },
    {
      name: 'DESIGN midpoint split: only the upper half of s0 moves',
      oldRing: TWO,
      newRing: midpointSplit(TWO, 's0', 's2'),
      moved: [{ start: 1073741823, end: 2147483647, source: 's0', target: 's2' }],
    },
    {
      name: 'move to a fresh database: the whole arc, wrapping past MAX',
      oldRing: TWO,
      newRing: TWO.renamed('s1', 's1-fresh'),
      moved: [{ start: 2147483647, end: 0, source: 's1', target: 's1-fresh' }],
    },
    {
      name: 'removal: the previous shard absorbs the arc',
      oldRing: THREE,
      newRing: THREE.without('s1'),
      moved: [{ start: 1431655765, end: 2863311530, source: 's1', target: 's0' }],
    },
    {
      name: 'removing the shard at 0: the last shard absorbs it across the wrap',
      oldRing: THREE,
      newRing: THREE.without('s0'),
      moved: [{ start: 0, end: 1431655765, source: 's0', target: 's2' }],
    },
    {
      name: 'two shards to three: two arcs with different pairs',
      oldRing: TWO,
      newRing: THREE,
      moved: [
        { start: 1431655765, end: 2147483647, source: 's0', target: 's1' },
        { start: 2863311530, end: 0, source: 's1', target: 's2' },
      ],
    },
    {
      // Only a single-point ring has a point where its owner does not change.
      name: 'merges adjacent elementary arcs with the same pair',
      oldRing: new Ring([{ point: 50, shard: 'a' }]),
      newRing: new Ring([
        { point: 0, shard: 'b' },
        { point: 100, shard: 'c' },
      ]),
      moved: [
        { start: 0, end: 100, source: 'a', target: 'b' },
        { start: 100, end: 0, source: 'a', target: 'c' },
      ],
    },
    {
      name: 'merges across the wrap at 0',
      oldRing: new Ring([{ point: 0, shard: 'x' }]),
      newRing: new Ring([
        { point: 100, shard: 'y' },
        { point: 200, shard: 'z' },
      ]),
      moved: [
        { start: 100, end: 200, source: 'x', target: 'y' },
        { start: 200, end: 100, source: 'x', target: 'z' },
      ],
    },
    {
      // s keeps [110, 40) and t keeps [50, 100): the two s->t arcs must not be merged over t's.
      name: 'same pair on both sides of an unmoved arc stays two arcs',
      oldRing: new Ring([
        { point: 50, shard: 't' },
        { point: 100, shard: 's' },
      ]),
      newRing: new Ring([
        { point: 40, shard: 't' },
        { point: 110, shard: 's' },
      ]),
      moved: [
        { start: 40, end: 50, source: 's', target: 't' },
        { start: 100, end: 110, source: 's', target: 't' },
      ],
    },
    {
      name: 'one shard moving its point: the full circle, once',
      oldRing: new Ring([{ point: 0, shard: 'a' }]),
      newRing: new Ring([{ point: 5, shard: 'b' }]),
      moved: [{ start: 0, end: 0, source: 'a', target: 'b' }],
    },
    {
      name: 'only MAX moves',
      oldRing: new Ring([
        { point: 0, shard: 'a' },
        { point: MAX_POINT, shard: 'b' },
      ]),
      newRing: new Ring([
        { point: 0, shard: 'a' },
        { point: MAX_POINT, shard: 'c' },
      ]),
      moved: [{ start: MAX_POINT, end: 0, source: 'b', target: 'c' }],
    },
  ])('$name', ({ oldRing, newRing, moved }) => {
    expect(planRingChange(oldRing, newRing)).toEqual(moved);
  });

  // Arbitrary changes, plus the three kinds the service performs, so each is checked on many rings.
  const changeArb: fc.Arbitrary<[Ring, Ring]> = fc.oneof(
    fc.tuple(ringArb, ringArb),
    ringArb.chain((ring) =>
      fc.constantFrom(...ring.shards()).map((shard): [Ring, Ring] => [ring, ring.renamed(shard, 'fresh')]),
    ),
    ringArb
      .filter((ring) => ring.points.length > 1)
      .chain((ring) => fc.constantFrom(...ring.shards()).map((shard): [Ring, Ring] => [ring, ring.without(shard)])),
    fc
      .tuple(ringArb, pointArb)
      .filter(([ring, point]) => !ring.points.some((p) => p.point === point))
      .map(([ring, point]): [Ring, Ring] => [ring, ring.withPoint(point, 'fresh')]),
  );

  it('a hash is in a moved arc iff its owner changes, and that arc names both owners', () => {
    fc.assert(
      fc.property(
        changeArb.chain(([oldRing, newRing]) =>
          fc.tuple(fc.constant(oldRing), fc.constant(newRing), hashNear(oldRing, newRing)),
        ),
        ([oldRing, newRing, hash]) => {
          const containing = planRingChange(oldRing, newRing).filter((arc) => arcContains(arc, hash));
          const source = oldRing.ownerOf(hash);
          const target = newRing.ownerOf(hash);
          expect(containing).toEqual(source === target ? [] : [expect.objectContaining({ source, target })]);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('moved arcs are sorted, disjoint and maximal (neighbours, also across 0, differ in pair)', () => {
    fc.assert(
      fc.property(changeArb, ([oldRing, newRing]) => {
        const moved = planRingChange(oldRing, newRing);
        for (let i = 0; i < moved.length; i++) {
          const arc = moved[i];
          expect(arc.source).not.toBe(arc.target);
          if (i > 0) expect(moved[i - 1].start).toBeLessThan(arc.start);
          if (moved.length === 1) break;
          const next = moved[(i + 1) % moved.length];
          // Disjoint: no arc's start lies inside another arc.
          expect(arcContains(arc, next.start)).toBe(false);
          if (arc.end === next.start) expect([arc.source, arc.target]).not.toEqual([next.source, next.target]);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
