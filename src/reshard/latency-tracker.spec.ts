import { LatencyTracker, MAX_SAMPLES, strained } from './latency-tracker';

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

  it("tells a saturated event loop from an idle one, renewed at most once a second", async () => {
    const spinUntil = Date.now() + 300;
    while (Date.now() < spinUntil);
    const busy = tracker.loopBusy(Date.now() + 1000);
    expect(busy).toBeGreaterThan(0.8);
    // Within the same second the reading stays.
    expect(tracker.loopBusy(Date.now() + 1000)).toBe(busy);
    // A whole idle second: on a shared runner the test process's own housekeeping (jest's
    // IPC, GC) lands in the window, and a short one let it reach a third of the reading.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(tracker.loopBusy(Date.now() + 2000)).toBeLessThan(0.5);
  });

  it('is strained when p99 is over the target or the event loop saturated, never with too few requests to say', () => {
    // A `now` before the tracker was made: the event loop's busy share reads 0.
    const now = 1_000_000;
    expect(strained(tracker.live(now), 1)).toBe(false);
    for (let i = 0; i < 100; i++) tracker.record(40, now);
    expect(strained(tracker.live(now), 10)).toBe(true);
    expect(strained(tracker.live(now), 500)).toBe(false);
    expect(strained({ p99: 40, loopBusy: 0.95 }, 500)).toBe(true);
    expect(strained({ p99: null, loopBusy: 0.95 }, 500)).toBe(false);
  });

  it("fixes a job's target on the first ask: twice the p99 before it, at least 20 ms, or as configured", () => {
    const now = Date.now();
    for (let i = 0; i < 100; i++) tracker.record(30, now);
    const first = tracker.targetFor('job-a', null);
    expect(first.baselineMs).toBeGreaterThanOrEqual(30);
    expect(first.targetMs).toBe(Math.round(2 * first.baselineMs!));
    for (let i = 0; i < 1000; i++) tracker.record(900, now);
    expect(tracker.targetFor('job-a', null)).toEqual(first);
    expect(tracker.targetFor('job-b', 75).targetMs).toBe(75);
    expect(new LatencyTracker().targetFor('job-c', null)).toEqual({ targetMs: 20, baselineMs: null });
  });
});
