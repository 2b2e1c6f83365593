import { freshRing, midpointSplit, planRingChange, Ring } from '../ring';
import { BatchPacer, copyPlan, LiveSignal, MIN_DUTY, nextDuty, Throttle } from './reshard-steps';

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

const signal = (p99: number | null, loopBusy = 0.3, others: { serving?: number; strained?: string[] } = {}): LiveSignal => ({
  p99,
  loopBusy,
  othersServing: others.serving ?? 0,
  strainedElsewhere: others.strained ?? [],
});

describe('nextDuty', () => {
  it('halves while live p99 is over target, down to MIN_DUTY', () => {
    expect(nextDuty(0.8, signal(250), 100, false)).toBe(0.4);
    expect(nextDuty(0.08, signal(250), 100, false)).toBe(MIN_DUTY);
    expect(nextDuty(MIN_DUTY, signal(250), 100, false)).toBe(MIN_DUTY);
  });

  it('halves while the event loop is saturated, even with p99 under target', () => {
    expect(nextDuty(0.8, signal(20, 0.95), 100, false)).toBe(0.4);
    expect(nextDuty(0.8, signal(20, 0.85), 100, false)).toBeCloseTo(0.85);
  });

  it('halves while another instance is over its own target, even with none of its own traffic here', () => {
    expect(nextDuty(0.8, signal(20, 0.3, { serving: 2, strained: ['b'] }), 100, false)).toBe(0.4);
    expect(nextDuty(0.8, signal(null, 0, { serving: 1, strained: ['b'] }), 100, false)).toBe(0.4);
  });

  it('grows by five points per judgement up to all of the time while live traffic anywhere is fine', () => {
    expect(nextDuty(0.4, signal(20), 100, false)).toBeCloseTo(0.45);
    expect(nextDuty(0.98, signal(20), 100, false)).toBe(1);
    expect(nextDuty(0.4, signal(null, 0, { serving: 1 }), 100, false)).toBeCloseTo(0.45);
  });

  it('takes all of the time when no instance has live traffic to judge by, whatever the event loop does', () => {
    expect(nextDuty(MIN_DUTY, signal(null, 0.99), 100, false)).toBe(1);
    expect(nextDuty(0.2, signal(null), 100, true)).toBe(1);
  });

  it('drops to the floor when live traffic comes back after none, however fine it looks', () => {
    expect(nextDuty(1, signal(20), 100, true)).toBe(MIN_DUTY);
    expect(nextDuty(1, signal(null, 0, { serving: 1 }), 100, true)).toBe(MIN_DUTY);
  });
});

describe('Throttle and BatchPacer', () => {
  const quiet = signal(10, 0.2);
  const slow = signal(500, 0.2);

  it('starts at all of the time with no live traffic anywhere, at the floor beside live traffic', () => {
    expect(new Throttle(100, signal(null, 0)).duty).toBe(1);
    expect(new Throttle(100, quiet).duty).toBe(MIN_DUTY);
    expect(new Throttle(100, signal(null, 0, { serving: 1 })).duty).toBe(MIN_DUTY);
  });

  it('rests after a batch so that batches take the duty\'s share of the time', () => {
    const throttle = new Throttle(100, quiet, 0);
    throttle.duty = 0.25;
    expect(throttle.rest(20)).toBe(60);
    throttle.duty = 1;
    expect(throttle.rest(20)).toBe(0);
  });

  it('judges at most once a second: a second slow batch within it does not halve again', () => {
    const throttle = new Throttle(100, quiet, 0);
    throttle.duty = 0.4;
    const pacer = new BatchPacer(throttle, 1_000_000, 5000);
    pacer.after(100, 10, slow, 1000);
    expect(throttle.duty).toBe(0.2);
    pacer.after(100, 10, slow, 1500);
    expect(throttle.duty).toBe(0.2);
    pacer.after(100, 10, quiet, 2000);
    expect(throttle.duty).toBeCloseTo(0.25);
  });

  it('a batch slowed by a busy machine earns a longer rest, not a quicker next batch', () => {
    const throttle = new Throttle(100, quiet, 0);
    throttle.duty = 0.2;
    const pacer = new BatchPacer(throttle, 1_000_000, 5000);
    // Duty 0.2: rest four times the batch's own time, however few rows it moved.
    expect(pacer.after(1000, 50, quiet, 100)).toBe(200);
    expect(pacer.after(1000, 400, quiet, 200)).toBe(1600);
  });

  it('keeps under the rows/s cap even at full duty', () => {
    const throttle = new Throttle(100, signal(null, 0), 0);
    const pacer = new BatchPacer(throttle, 10_000, 5000);
    // 5000 rows at 10,000 rows/s take 500 ms: 100 ms of work, then 400 ms of rest.
    expect(pacer.after(5000, 100, signal(null, 0), 100)).toBe(400);
  });

  it('sizes batches to about 100 ms of work beside live traffic and 250 ms alone, within the configured batch', () => {
    const throttle = new Throttle(100, quiet, 0);
    const pacer = new BatchPacer(throttle, 1_000_000, 50_000);
    expect(pacer.size()).toBe(1000); // nothing measured yet
    expect(new BatchPacer(throttle, 1_000_000, 10).size()).toBe(10);
    pacer.after(1000, 50, quiet, 100); // 20 rows per ms
    expect(pacer.size()).toBe(2000);
    throttle.duty = 1;
    expect(pacer.size()).toBe(2000); // all of the time, but beside live traffic
    pacer.after(2000, 100, signal(null, 0), 1100);
    expect(throttle.idle).toBe(true);
    expect(pacer.size()).toBe(5000);
  });

  it('with no live traffic, lets a batch grow to four times the configured batch', () => {
    const throttle = new Throttle(100, signal(null, 0), 0);
    const pacer = new BatchPacer(throttle, 10_000_000, 5000);
    pacer.after(1000, 1, signal(null, 0), 100); // 1000 rows per ms: 250 ms would be 250,000 rows
    expect(pacer.size()).toBe(20_000);
    pacer.after(1000, 1, quiet, 1100); // traffic is back: the configured batch again
    expect(throttle.duty).toBe(MIN_DUTY);
    expect(pacer.size()).toBe(5000);
  });

  it('never sizes a batch under its minimum, however slow batches were', () => {
    const throttle = new Throttle(100, quiet, 0);
    const pacer = new BatchPacer(throttle, 1_000_000, 5000);
    pacer.after(1000, 2000, quiet, 100);
    expect(pacer.size()).toBe(1000);
  });
});
