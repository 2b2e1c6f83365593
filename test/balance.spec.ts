import { randomHashes, simulateBalance } from '../bench/balance';

describe('the balance simulation of splitting the hottest shard', () => {
  it('moves only the split half, and reports each power of two up to the last size', () => {
    const sut = simulateBalance(randomHashes(20_000), 16);
    expect(sut.steps.map((s) => s.shards)).toEqual([4, 8, 16]);
    expect(sut.movedFromOthers).toBe(0);
    expect(sut.movedPerSplit).toHaveLength(14);
    for (const s of sut.steps) {
      expect(s.maxOverMean).toBeGreaterThanOrEqual(1);
      expect(s.minOverMean).toBeLessThanOrEqual(1);
    }
    // Splitting the hottest keeps every shard within a factor of about two of the mean.
    expect(sut.steps[sut.steps.length - 1].maxOverMean).toBeLessThan(2);
  });

  it('counts exactly: with hashes at known places, a split moves exactly the upper half', () => {
    // s0 owns [0, 2147483647): its upper half [1073741823, 2147483647) holds three of these.
    const hashes = Uint32Array.from([5, 100, 1073741822, 1073741823, 1500000000, 2147483646, 2147483647, 4000000000]).sort();
    const sut = simulateBalance(hashes, 3);
    expect(sut.movedPerSplit).toEqual([3]);
    expect(sut.movedFromOthers).toBe(0);
  });
});
