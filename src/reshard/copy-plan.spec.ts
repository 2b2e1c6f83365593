import { freshRing, midpointSplit, planRingChange, Ring } from '../ring';
import { copyPlan, CopyThrottle, nextCopyRate } from './reshard-steps';

describe('copyPlan', () => {
  it('cuts a split of the two-shard ring into one SQL range', () => {
    const ring = freshRing(['shard-0', 'shard-1']);
    const sut = copyPlan(planRingChange(ring, midpointSplit(ring, 'shard-0', 'shard-2')));
    expect(sut).toEqual([{ source: 'shard-0', target: 'shard-2', segment: { from: 1073741823, to: 2147483647 } }]);
  });

  it('ends the last arc of a ring at 2^32, in one range', () => {
    const ring = freshRing(['shard-0', 'shard-1']);
    const sut = copyPlan(planRingChange(ring, ring.renamed('shard-1', 'fresh')));
    expect(sut).toEqual([{ source: 'shard-1', target: 'fresh', segment: { from: 2147483647, to: 4294967296 } }]);
  });

  it('cuts an arc that wraps past 2^32 into two ranges', () => {
    const ring = new Ring([
      { point: 100, shard: 'a' },
      { point: 2000000000, shard: 'b' },
    ]);
    const sut = copyPlan(planRingChange(ring, ring.renamed('b', 'fresh')));
    expect(sut).toEqual([
      { source: 'b', target: 'fresh', segment: { from: 2000000000, to: 4294967296 } },
      { source: 'b', target: 'fresh', segment: { from: 0, to: 100 } },
    ]);
  });
});

describe('nextCopyRate', () => {
  it('halves while live p99 is over target, down to a fortieth of the cap (at least 100 rows/s, at most the cap)', () => {
    expect(nextCopyRate(8000, 250, 100, 10000)).toBe(4000);
    expect(nextCopyRate(300, 250, 100, 10000)).toBe(250);
    expect(nextCopyRate(150, 250, 100, 2000)).toBe(100);
    expect(nextCopyRate(50, 250, 100, 50)).toBe(50);
  });

  it('recovers by a quarter per judgement up to the cap while latency is fine', () => {
    expect(nextCopyRate(4000, 20, 100, 10000)).toBe(5000);
    expect(nextCopyRate(9000, 20, 100, 10000)).toBe(10000);
  });

  it('doubles when there is no live traffic to judge by', () => {
    expect(nextCopyRate(10_000, null, 100, 200_000)).toBe(20_000);
    expect(nextCopyRate(150_000, null, 100, 200_000)).toBe(200_000);
  });
});

describe('CopyThrottle', () => {
  it('sizes batches to a tenth of a second of its rate, within the configured batch', () => {
    const throttle = new CopyThrottle(200_000, 5000, 20);
    expect(throttle.rate).toBe(10_000);
    expect(throttle.batchSize()).toBe(1000);
    throttle.rate = 200_000;
    expect(throttle.batchSize()).toBe(5000);
    throttle.rate = 20_000;
    expect(throttle.batchSize()).toBe(2000);
    throttle.rate = 100;
    expect(throttle.batchSize()).toBe(100);
    expect(new CopyThrottle(100, 10, 20).batchSize()).toBe(10);
  });

  it('judges the rate at most once a second, and paces batches to it', () => {
    const throttle = new CopyThrottle(10_000, 5000, 20);
    expect(throttle.after(1000, 40, 50, 10_000)).toBe(160); // halved to 5000 rows/s: 1000 rows take 200 ms
    expect(throttle.rate).toBe(5000);
    throttle.after(1000, 40, 50, 10_500); // too soon to judge again
    expect(throttle.rate).toBe(5000);
    throttle.after(1000, 40, 5, 11_000);
    expect(throttle.rate).toBe(6250);
    expect(throttle.after(100, 500, 5, 11_100)).toBe(0);
  });
});
