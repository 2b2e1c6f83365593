import fc from 'fast-check';
import { Arc, arcContains, arcLength, arcSegments, arcShare } from './arc';
import { MAX_POINT, RING_SIZE } from './hash';

const HALF = 2147483647; // the second point of the DESIGN two-shard ring

describe('arcContains', () => {
  it.each([
    { name: 'start inclusive', arc: { start: 0, end: HALF }, hash: 0, expected: true },
    { name: 'end exclusive', arc: { start: 0, end: HALF }, hash: HALF, expected: false },
    { name: 'just before end', arc: { start: 0, end: HALF }, hash: HALF - 1, expected: true },
    { name: 'just before start', arc: { start: 100, end: 200 }, hash: 99, expected: false },
    { name: 'one-hash arc holds its start', arc: { start: 7, end: 8 }, hash: 7, expected: true },
    { name: 'one-hash arc excludes its end', arc: { start: 7, end: 8 }, hash: 8, expected: false },
    { name: 'wraps past MAX: holds MAX', arc: { start: HALF, end: 0 }, hash: MAX_POINT, expected: true },
    { name: 'wraps past MAX: ending at 0 excludes 0', arc: { start: HALF, end: 0 }, hash: 0, expected: false },
    { name: 'wraps past MAX: holds 0', arc: { start: HALF, end: 10 }, hash: 0, expected: true },
    { name: 'wraps past MAX: end exclusive', arc: { start: HALF, end: 10 }, hash: 10, expected: false },
    { name: 'wraps past MAX: the gap is outside', arc: { start: HALF, end: 10 }, hash: HALF - 1, expected: false },
    { name: 'arc ending at MAX excludes MAX', arc: { start: 0, end: MAX_POINT }, hash: MAX_POINT, expected: false },
    { name: 'full circle holds 0', arc: { start: HALF, end: HALF }, hash: 0, expected: true },
    { name: 'full circle holds MAX', arc: { start: HALF, end: HALF }, hash: MAX_POINT, expected: true },
    { name: 'full circle holds its start', arc: { start: HALF, end: HALF }, hash: HALF, expected: true },
  ])('$name', ({ arc, hash, expected }) => {
    expect(arcContains(arc, hash)).toBe(expected);
  });
});

describe('arcLength and arcShare', () => {
  it.each([
    { name: 'first half of the DESIGN ring', arc: { start: 0, end: HALF }, length: HALF },
    { name: 'second half wraps past MAX to 0', arc: { start: HALF, end: 0 }, length: HALF + 2 },
    { name: 'one hash', arc: { start: 5, end: 6 }, length: 1 },
    { name: 'only MAX', arc: { start: MAX_POINT, end: 0 }, length: 1 },
    { name: 'wraps past MAX', arc: { start: MAX_POINT - 9, end: 10 }, length: 20 },
    { name: 'full circle', arc: { start: 12345, end: 12345 }, length: RING_SIZE },
    { name: 'all but one hash', arc: { start: 1, end: 0 }, length: MAX_POINT },
  ])('$name', ({ arc, length }) => {
    expect(arcLength(arc)).toBe(length);
    expect(arcShare(arc)).toBe(length / RING_SIZE);
  });

  it('shares of the two DESIGN halves sum to the circle', () => {
    expect(arcShare({ start: 0, end: HALF }) + arcShare({ start: HALF, end: 0 })).toBe(1);
    expect(arcShare({ start: 0, end: 0 })).toBe(1);
  });
});

describe('arcSegments', () => {
  it.each([
    { name: 'non-wrapping arc is one segment', arc: { start: 0, end: HALF }, segments: [{ from: 0, to: HALF }] },
    { name: 'arc ending at 0 reaches RING_SIZE', arc: { start: HALF, end: 0 }, segments: [{ from: HALF, to: RING_SIZE }] },
    {
      name: 'wraps past MAX: two segments, clockwise from start',
      arc: { start: HALF, end: 10 },
      segments: [
        { from: HALF, to: RING_SIZE },
        { from: 0, to: 10 },
      ],
    },
    { name: 'only MAX', arc: { start: MAX_POINT, end: 0 }, segments: [{ from: MAX_POINT, to: RING_SIZE }] },
    { name: 'full circle is [0, RING_SIZE) whatever its start', arc: { start: HALF, end: HALF }, segments: [{ from: 0, to: RING_SIZE }] },
  ])('$name', ({ arc, segments }) => {
    expect(arcSegments(arc)).toEqual(segments);
  });

  const point = fc.oneof(
    fc.integer({ min: 0, max: MAX_POINT }),
    fc.integer({ min: 0, max: 3 }),
    fc.integer({ min: MAX_POINT - 3, max: MAX_POINT }),
  );
  const arcArb: fc.Arbitrary<Arc> = fc.record({ start: point, end: point });
  // Hashes near the arc's ends are where off-by-one errors live.
  const hashFor = (arc: Arc) =>
    fc.oneof(
      point,
      fc.integer({ min: -1, max: 1 }).map((d) => (arc.start + d + RING_SIZE) % RING_SIZE),
      fc.integer({ min: -1, max: 1 }).map((d) => (arc.end + d + RING_SIZE) % RING_SIZE),
    );

  it('covers exactly the arc: a hash is in some segment iff the arc contains it', () => {
    fc.assert(
      fc.property(
        arcArb.chain((arc) => fc.tuple(fc.constant(arc), hashFor(arc))),
        ([arc, hash]) => {
          const hits = arcSegments(arc).filter((s) => hash >= s.from && hash < s.to).length;
          expect(hits).toBe(arcContains(arc, hash) ? 1 : 0);
        },
      ),
    );
  });

  it('segments are non-empty, within [0, RING_SIZE] and add up to the arc length', () => {
    fc.assert(
      fc.property(arcArb, (arc) => {
        const segments = arcSegments(arc);
        expect(segments.length).toBeGreaterThanOrEqual(1);
        expect(segments.length).toBeLessThanOrEqual(2);
        for (const s of segments) {
          expect(Number.isInteger(s.from) && Number.isInteger(s.to)).toBe(true);
          expect(s.from).toBeGreaterThanOrEqual(0);
          expect(s.to).toBeLessThanOrEqual(RING_SIZE);
          expect(s.from).toBeLessThan(s.to);
        }
        expect(segments.reduce((sum, s) => sum + (s.to - s.from), 0)).toBe(arcLength(arc));
      }),
    );
  });
});
