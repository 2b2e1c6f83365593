import { LatencyTracker, MAX_SAMPLES } from './latency-tracker';

describe('LatencyTracker', () => {
  let tracker: LatencyTracker;

  beforeEach(() => {
    tracker = new LatencyTracker();
  });

  afterEach(() => tracker.onModuleDestroy());

  // The event loop's own delay is added to the requests' p99; in a test it is whatever the
  // runner's loop did, so the expectations leave room for it.
  const near = (value: number | null, expected: number) => {
    expect(value).not.toBeNull();
    expect(value!).toBeGreaterThanOrEqual(expected);
    expect(value!).toBeLessThan(expected + 50);
  };

  it('says nothing with too few requests in the window', () => {
    const now = 1_000_000;
    for (let i = 0; i < 19; i++) tracker.record(5, now);
    expect(tracker.p99(2000, now)).toBeNull();
    tracker.record(5, now);
    near(tracker.p99(2000, now), 5);
  });

  it('judges only the requests inside the window', () => {
    const now = 1_000_000;
    for (let i = 0; i < 100; i++) tracker.record(900, now - 5000);
    for (let i = 0; i < 100; i++) tracker.record(i + 1, now - 500);
    // The slow ones are older than 2 s: the p99 of 1..100 is 100.
    near(tracker.p99(2000, now), 100);
    near(tracker.p99(10_000, now), 900);
  });

  it('keeps the latest MAX_SAMPLES requests once full, the oldest overwritten', () => {
    const now = 1_000_000;
    for (let i = 0; i < MAX_SAMPLES; i++) tracker.record(1000, now);
    for (let i = 0; i < MAX_SAMPLES; i++) tracker.record(2, now);
    near(tracker.p99(2000, now), 2);
    for (let i = 0; i < MAX_SAMPLES / 2; i++) tracker.record(7, now);
    near(tracker.p99(2000, now), 7);
  });
});
