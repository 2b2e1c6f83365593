import fc from 'fast-check';
import { arcContains, arcLength } from './arc';
import { MAX_POINT, RING_SIZE } from './hash';
import { Ring, RingError, RingPoint, freshRing, midpointOf, midpointSplit } from './ring';

// Points crowd 0 and MAX_POINT as well as spreading over the circle, so rings that start at 0,
// end at MAX_POINT, or have one-hash arcs come up often.
const pointArb = fc.oneof(
  fc.integer({ min: 0, max: MAX_POINT }),
  fc.integer({ min: 0, max: 4 }),
  fc.integer({ min: MAX_POINT - 4, max: MAX_POINT }),
);
const ringArb = fc
  .uniqueArray(pointArb, { minLength: 1, maxLength: 8 })
  .chain((points) =>
    fc
      .shuffledSubarray(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'], { minLength: points.length, maxLength: points.length })
      .map((names) => new Ring(points.map((point, i) => ({ point, shard: names[i] })))),
  );
// Hashes anywhere, plus hashes at and right beside the ring's points, where off-by-ones live.
const hashNear = (ring: Ring) =>
  fc.oneof(
    fc.integer({ min: 0, max: MAX_POINT }),
    fc
      .tuple(fc.constantFrom(...ring.points.map((p) => p.point)), fc.integer({ min: -1, max: 1 }))
      .map(([p, d]) => (p + d + RING_SIZE) % RING_SIZE),
  );

const TWO = [
  { point: 0, shard: 's0' },
  { point: 2147483647, shard: 's1' },
];

describe('Ring construction', () => {
  it.each<{ name: string; points: RingPoint[] }>([
    { name: 'no points', points: [] },
    { name: 'negative point', points: [{ point: -1, shard: 'a' }] },
    { name: 'point past MAX', points: [{ point: RING_SIZE, shard: 'a' }] },
    { name: 'fractional point', points: [{ point: 1.5, shard: 'a' }] },
    { name: 'NaN point', points: [{ point: NaN, shard: 'a' }] },
    { name: 'empty shard name', points: [{ point: 0, shard: '' }] },
    {
      name: 'duplicate point',
      points: [
        { point: 5, shard: 'a' },
        { point: 5, shard: 'b' },
      ],
    },
    {
      name: 'duplicate shard',
      points: [
        { point: 5, shard: 'a' },
        { point: 6, shard: 'a' },
      ],
    },
  ])('rejects $name', ({ points }) => {
    expect(() => new Ring(points)).toThrow(RingError);
  });

  it('accepts both ends of the circle', () => {
    const sut = new Ring([
      { point: MAX_POINT, shard: 'last' },
      { point: 0, shard: 'first' },
    ]);
    expect(sut.shards()).toEqual(['first', 'last']);
  });

  it('stores points sorted and does not share the caller array', () => {
    const input = [
      { point: 300, shard: 'c' },
      { point: 100, shard: 'a' },
      { point: 200, shard: 'b' },
    ];
    const sut = new Ring(input);
    input[0].point = 1;
    expect(sut.points).toEqual([
      { point: 100, shard: 'a' },
      { point: 200, shard: 'b' },
      { point: 300, shard: 'c' },
    ]);
    expect(sut.shards()).toEqual(['a', 'b', 'c']);
    expect(sut.toJSON()).toEqual(sut.points);
    expect(new Ring(sut.toJSON()).points).toEqual(sut.points);
  });
});

describe('Ring.ownerOf', () => {
  const twoShards = new Ring(TWO);
  const noZero = new Ring([
    { point: 100, shard: 'a' },
    { point: 200, shard: 'b' },
  ]);
  it.each([
    { name: 'start inclusive', ring: twoShards, hash: 0, owner: 's0' },
    { name: 'end exclusive', ring: twoShards, hash: 2147483647, owner: 's1' },
    { name: 'just before a point', ring: twoShards, hash: 2147483646, owner: 's0' },
    { name: 'MAX belongs to the last point', ring: twoShards, hash: MAX_POINT, owner: 's1' },
    { name: 'wraps past MAX: before the first point', ring: noZero, hash: 0, owner: 'b' },
    { name: 'wraps past MAX: just before the first point', ring: noZero, hash: 99, owner: 'b' },
    { name: 'first point inclusive', ring: noZero, hash: 100, owner: 'a' },
    { name: 'between points', ring: noZero, hash: 150, owner: 'a' },
    { name: 'single shard owns 0', ring: new Ring([{ point: 7, shard: 'only' }]), hash: 0, owner: 'only' },
    { name: 'single shard owns MAX', ring: new Ring([{ point: 7, shard: 'only' }]), hash: MAX_POINT, owner: 'only' },
  ])('$name', ({ ring, hash, owner }) => {
    expect(ring.ownerOf(hash)).toBe(owner);
  });

  it.each([
    { name: 'negative (a signed CRC)', hash: -1 },
    { name: 'past MAX', hash: RING_SIZE },
    { name: 'fractional', hash: 0.5 },
    { name: 'NaN', hash: NaN },
  ])('rejects a hash that is $name', ({ hash }) => {
    expect(() => twoShards.ownerOf(hash)).toThrow(RingError);
  });

  it('agrees with a linear scan on a 1024-shard ring', () => {
    const sut = freshRing(Array.from({ length: 1024 }, (_, i) => `shard-${i}`));
    const linear = (hash: number) => {
      let owner = sut.points[sut.points.length - 1].shard;
      for (const p of sut.points) if (p.point <= hash) owner = p.shard;
      return owner;
    };
    fc.assert(fc.property(hashNear(sut), (hash) => expect(sut.ownerOf(hash)).toBe(linear(hash))));
  });

  it('every hash has exactly one owner, the shard whose arc contains it', () => {
    fc.assert(
      fc.property(
        ringArb.chain((ring) => fc.tuple(fc.constant(ring), hashNear(ring))),
        ([sut, hash]) => {
          const containing = sut.shards().filter((shard) => arcContains(sut.arcOf(shard), hash));
          expect(containing).toEqual([sut.ownerOf(hash)]);
        },
      ),
    );
  });

  it('arcs tile the circle', () => {
    fc.assert(
      fc.property(ringArb, (sut) => {
        expect(sut.shards().reduce((sum, shard) => sum + arcLength(sut.arcOf(shard)), 0)).toBe(RING_SIZE);
      }),
    );
  });
});

describe('Ring lookups and changes', () => {
  const sut = new Ring(TWO);

  it.each([
    { name: 'first shard ends at the next point', shard: 's0', arc: { start: 0, end: 2147483647 } },
    { name: 'last shard wraps past MAX to the first point', shard: 's1', arc: { start: 2147483647, end: 0 } },
  ])('arcOf: $name', ({ shard, arc }) => {
    expect(sut.arcOf(shard)).toEqual(arc);
  });

  it('arcOf the only shard is the full circle', () => {
    expect(new Ring([{ point: 9, shard: 'x' }]).arcOf('x')).toEqual({ start: 9, end: 9 });
  });

  it('has, pointOf and unknown shards', () => {
    expect(sut.has('s1')).toBe(true);
    expect(sut.has('s2')).toBe(false);
    expect(sut.pointOf('s1')).toBe(2147483647);
    expect(() => sut.pointOf('s2')).toThrow(RingError);
    expect(() => sut.arcOf('s2')).toThrow(RingError);
  });

  it('withPoint adds a point and leaves the original alone', () => {
    const changed = sut.withPoint(100, 'sx');
    expect(changed.toJSON()).toEqual([{ point: 0, shard: 's0' }, { point: 100, shard: 'sx' }, TWO[1]]);
    expect(sut.toJSON()).toEqual(TWO);
    expect(() => sut.withPoint(0, 'sx')).toThrow(RingError);
    expect(() => sut.withPoint(100, 's1')).toThrow(RingError);
  });

  it('without hands the arc to the previous point', () => {
    const changed = sut.without('s1');
    expect(changed.toJSON()).toEqual([TWO[0]]);
    expect(changed.ownerOf(MAX_POINT)).toBe('s0');
    expect(() => sut.without('s2')).toThrow(RingError);
    expect(() => changed.without('s0')).toThrow(RingError);
  });

  it('renamed keeps the point and moves the whole arc to the new shard', () => {
    const changed = sut.renamed('s1', 's1-fresh');
    expect(changed.toJSON()).toEqual([TWO[0], { point: 2147483647, shard: 's1-fresh' }]);
    expect(changed.arcOf('s1-fresh')).toEqual(sut.arcOf('s1'));
    expect(changed.has('s1')).toBe(false);
    expect(() => sut.renamed('s2', 's3')).toThrow(RingError);
    expect(() => sut.renamed('s1', 's0')).toThrow(RingError);
  });
});

describe('freshRing', () => {
  it.each([
    { name: 'one shard', n: 1, points: [0] },
    { name: 'two shards (DESIGN)', n: 2, points: [0, 2147483647] },
    { name: 'three shards (DESIGN)', n: 3, points: [0, 1431655765, 2863311530] },
    { name: 'four shards', n: 4, points: [0, 1073741823, 2147483647, 3221225471] },
  ])('$name', ({ n, points }) => {
    const names = Array.from({ length: n }, (_, i) => `s${i}`);
    expect(freshRing(names).toJSON()).toEqual(points.map((point, i) => ({ point, shard: names[i] })));
  });

  it('1024 shards: points are floored, 1023 * MAX / 1024 being 4290772991.0009766', () => {
    const sut = freshRing(Array.from({ length: 1024 }, (_, i) => `s${i}`));
    expect(sut.points).toHaveLength(1024);
    expect(sut.pointOf('s1')).toBe(4194303);
    expect(sut.pointOf('s1023')).toBe(4290772991);
  });

  it('rejects no shards and duplicate names', () => {
    expect(() => freshRing([])).toThrow(RingError);
    expect(() => freshRing(['a', 'a'])).toThrow(RingError);
  });
});

describe('midpointOf and midpointSplit', () => {
  it.each([
    { name: 'DESIGN: shard at 0 of the two-shard ring', points: TWO, shard: 's0', midpoint: 1073741823 },
    { name: 'last shard, arc ending at 0', points: TWO, shard: 's1', midpoint: 3221225471 },
    { name: 'only shard: full circle', points: [{ point: 0, shard: 'x' }], shard: 'x', midpoint: 2147483648 },
    { name: 'only shard not at 0: wraps past MAX', points: [{ point: 3000000000, shard: 'x' }], shard: 'x', midpoint: 852516352 },
    {
      name: 'wraps past MAX',
      points: [
        { point: 10, shard: 'a' },
        { point: MAX_POINT - 5, shard: 'b' },
      ],
      shard: 'b',
      midpoint: 2,
    },
    {
      name: 'shortest splittable arc (2 hashes)',
      points: [
        { point: 0, shard: 'a' },
        { point: 2, shard: 'b' },
      ],
      shard: 'a',
      midpoint: 1,
    },
  ])('$name', ({ points, shard, midpoint }) => {
    expect(midpointOf(new Ring(points), shard)).toBe(midpoint);
  });

  it('rejects an arc of one hash and an unknown shard', () => {
    const sut = new Ring([
      { point: 0, shard: 'a' },
      { point: 1, shard: 'b' },
    ]);
    expect(() => midpointOf(sut, 'a')).toThrow(RingError);
    expect(() => midpointOf(sut, 'zz')).toThrow(RingError);
  });

  it('DESIGN: the new shard takes [1073741823, 2147483647) and nobody else changes', () => {
    const before = new Ring(TWO);
    const after = midpointSplit(before, 's0', 's2');
    expect(after.toJSON()).toEqual([TWO[0], { point: 1073741823, shard: 's2' }, TWO[1]]);
    expect(after.arcOf('s0')).toEqual({ start: 0, end: 1073741823 });
    expect(after.arcOf('s2')).toEqual({ start: 1073741823, end: 2147483647 });
    expect(after.arcOf('s1')).toEqual(before.arcOf('s1'));
  });

  it('a split moves only hashes of the new upper half, and they go to the new shard', () => {
    const splittableShards = (ring: Ring) => ring.shards().filter((s) => arcLength(ring.arcOf(s)) >= 2);
    const splitCase = ringArb
      .filter((ring) => splittableShards(ring).length > 0)
      .chain((ring) => fc.tuple(fc.constant(ring), fc.constantFrom(...splittableShards(ring))))
      .chain(([ring, shard]) => {
        const arc = ring.arcOf(shard);
        const mid = midpointOf(ring, shard);
        // Uniform hashes rarely land in a short arc, so also draw inside it and around the new point.
        const inArc = fc
          .integer({ min: 0, max: arcLength(arc) - 1 })
          .map((offset) => (arc.start + offset) % RING_SIZE);
        const nearMid = fc.integer({ min: -1, max: 1 }).map((d) => (mid + d + RING_SIZE) % RING_SIZE);
        return fc.tuple(fc.constant(ring), fc.constant(shard), fc.oneof(hashNear(ring), inArc, nearMid));
      });
    fc.assert(
      fc.property(splitCase, ([before, shard, hash]) => {
        const after = midpointSplit(before, shard, 'new');
        const upperHalf = { start: midpointOf(before, shard), end: before.arcOf(shard).end };
        expect(after.ownerOf(hash)).toBe(arcContains(upperHalf, hash) ? 'new' : before.ownerOf(hash));
      }),
    );
  });
});
