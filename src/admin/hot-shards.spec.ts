import fc from 'fast-check';
import { HOT_FACTOR, HOT_FLOOR_PER_SEC, rankShardLoad, ShardLoad } from './hot-shards';

const shard = (name: string, point: number | null, writeRate: number | null, rows: number | null = 0): ShardLoad => ({
  name,
  point,
  writeRate,
  rows,
});

describe('rankShardLoad', () => {
  it('ranks by write rate, keeps the input order, and marks the one shard that dominates', () => {
    const sut = rankShardLoad([shard('shard-0', 0, 2, 9000), shard('shard-2', 1073741823, 40, 10), shard('shard-1', 2147483647, 3, 50)]);
    expect(sut).toEqual([
      { loadRank: 3, splitCandidate: false },
      { loadRank: 1, splitCandidate: true },
      { loadRank: 2, splitCandidate: false },
    ]);
  });

  it('breaks write-rate ties by rows, then by ring order', () => {
    const sut = rankShardLoad([shard('a', 0, 5, 10), shard('b', 10, 5, 20), shard('c', 20, 5, 20)]);
    expect(sut.map((r) => r.loadRank)).toEqual([3, 1, 2]);
  });

  it('marks nothing when the load is even, or the leader is not clearly ahead', () => {
    expect(rankShardLoad([shard('a', 0, 10), shard('b', 10, 10)]).some((r) => r.splitCandidate)).toBe(false);
    // Exactly HOT_FACTOR times the others' mean is not "clearly" ahead.
    const mean = 10;
    const sut = rankShardLoad([shard('a', 0, HOT_FACTOR * mean), shard('b', 10, mean - 4), shard('c', 20, mean + 4)]);
    expect(sut[0]).toEqual({ loadRank: 1, splitCandidate: false });
    expect(rankShardLoad([shard('a', 0, HOT_FACTOR * mean + 0.1), shard('b', 10, mean - 4), shard('c', 20, mean + 4)])[0].splitCandidate).toBe(
      true,
    );
  });

  it('needs the floor: a few stray writes on an idle system mark nothing', () => {
    expect(rankShardLoad([shard('a', 0, HOT_FLOOR_PER_SEC - 0.1), shard('b', 10, 0)])[0]).toEqual({ loadRank: 1, splitCandidate: false });
    expect(rankShardLoad([shard('a', 0, HOT_FLOOR_PER_SEC), shard('b', 10, 0)])[0]).toEqual({ loadRank: 1, splitCandidate: true });
  });

  it('gives shards on no arc no rank and never marks them', () => {
    const sut = rankShardLoad([shard('a', 0, 0, 5), shard('spare', null, 500, 0)]);
    expect(sut).toEqual([
      { loadRank: 1, splitCandidate: false },
      { loadRank: null, splitCandidate: false },
    ]);
  });

  it('ranks shards of unknown load last, counts them as idle, and marks no unknown leader', () => {
    const sut = rankShardLoad([shard('down', 0, null, null), shard('b', 10, 4, 1), shard('c', 20, 1, 1)]);
    expect(sut.map((r) => r.loadRank)).toEqual([3, 1, 2]);
    // 4 > 1.5 * mean(1, 0)
    expect(sut[1].splitCandidate).toBe(true);
    expect(rankShardLoad([shard('a', 0, null), shard('b', 10, null)]).some((r) => r.splitCandidate)).toBe(false);
  });

  it('splits a lone shard once it is busy', () => {
    expect(rankShardLoad([shard('only', 0, 3)])).toEqual([{ loadRank: 1, splitCandidate: true }]);
  });

  it('marks nothing while a reshard runs, but still ranks', () => {
    const sut = rankShardLoad([shard('a', 0, 100), shard('b', 10, 0)], { reshardInWindow: true });
    expect(sut).toEqual([
      { loadRank: 1, splitCandidate: false },
      { loadRank: 2, splitCandidate: false },
    ]);
  });

  it('marks at most one shard, always the rank-1 one, and ranks every ring shard once', () => {
    const load = fc.record({
      writeRate: fc.option(fc.double({ min: 0, max: 1e5, noNaN: true }), { nil: null }),
      rows: fc.option(fc.nat(), { nil: null }),
      onRing: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(load, { maxLength: 8 }), fc.boolean(), (loads, reshardInWindow) => {
        const input = loads.map((l, k) => shard(`s${k}`, l.onRing ? k * 100 : null, l.writeRate, l.rows));
        const sut = rankShardLoad(input, { reshardInWindow });
        const marked = sut.filter((r) => r.splitCandidate);
        expect(marked.length).toBeLessThanOrEqual(1);
        if (marked.length) expect(marked[0].loadRank).toBe(1);
        const onRing = input.filter((s) => s.point !== null).length;
        expect(sut.map((r) => r.loadRank).filter((r) => r !== null).sort((a, b) => a! - b!)).toEqual(
          Array.from({ length: onRing }, (_, k) => k + 1),
        );
      }),
    );
  });
});
