import { CoalescingQueue, CoalescingQueueOptions } from './coalescing-queue';

/** A write that waits until the test lets it finish (or fail). */
function gatedWrites() {
  const batches: number[][] = [];
  const pending: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  const write = (batch: number[]) =>
    new Promise<void>((resolve, reject) => {
      batches.push([...batch]);
      pending.push({ resolve, reject });
    });
  const settle = async (fail?: Error) => {
    const next = pending.shift()!;
    if (fail) next.reject(fail);
    else next.resolve();
    await flushMicrotasks();
  };
  return { batches, write, settle, get inFlight() { return pending.length; } };
}

async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

describe('CoalescingQueue', () => {
  let scheduled: Array<() => void>;
  let dropped: Array<{ items: number[]; why: string }>;
  let errors: number;
  const options = (over: Partial<CoalescingQueueOptions<number>> = {}): CoalescingQueueOptions<number> => ({
    maxBatch: 100,
    maxQueued: 1000,
    retryDelayMs: 0,
    onDropped: (items, why) => dropped.push({ items, why }),
    onWriteError: () => errors++,
    schedule: (run) => scheduled.push(run),
    sleep: async () => undefined,
    ...over,
  });
  const tick = async () => {
    scheduled.splice(0).forEach((run) => run());
    await flushMicrotasks();
  };

  beforeEach(() => {
    scheduled = [];
    dropped = [];
    errors = 0;
  });

  it('writes a lone item on the next turn, with no timer', async () => {
    const w = gatedWrites();
    const sut = new CoalescingQueue(w.write, options());
    sut.push(1);
    expect(w.batches).toEqual([]);
    await tick();
    expect(w.batches).toEqual([[1]]);
  });

  it('gathers what arrives while a write is in flight into the next write, in order', async () => {
    const w = gatedWrites();
    const sut = new CoalescingQueue(w.write, options());
    sut.push(1);
    await tick();
    sut.push(2);
    sut.push(3);
    sut.push(4);
    await tick();
    // One write at a time: 2..4 wait for the first.
    expect(w.batches).toEqual([[1]]);
    await w.settle();
    expect(w.batches).toEqual([[1], [2, 3, 4]]);
    await w.settle();
    expect(w.inFlight).toBe(0);
    expect(sut.size).toBe(0);
  });

  it('starts writes at least minIntervalMs apart, and a push after a quiet interval at once', async () => {
    const w = gatedWrites();
    let now = 1000;
    const sleeps: number[] = [];
    let wake: (() => void) | undefined;
    const sut = new CoalescingQueue(
      w.write,
      options({
        minIntervalMs: 10,
        now: () => now,
        sleep: (ms) => {
          sleeps.push(ms);
          return new Promise((resolve) => (wake = () => ((now += ms), resolve())));
        },
      }),
    );
    sut.push(1);
    await tick();
    expect(sleeps).toEqual([]);
    now += 3;
    sut.push(2);
    await w.settle();
    // The first write started 3 ms ago: the next waits out the rest of the 10, and gathers.
    expect(sleeps).toEqual([7]);
    sut.push(3);
    wake!();
    await flushMicrotasks();
    expect(w.batches).toEqual([[1], [2, 3]]);
    await w.settle();
    // Idle for longer than the interval: no wait.
    now += 50;
    sut.push(4);
    await tick();
    expect(sleeps).toEqual([7]);
    expect(w.batches).toEqual([[1], [2, 3], [4]]);
    await w.settle();
  });

  it('splits what waits into batches of at most maxBatch', async () => {
    const w = gatedWrites();
    const sut = new CoalescingQueue(w.write, options({ maxBatch: 2 }));
    [1, 2, 3, 4, 5].forEach((n) => sut.push(n));
    await tick();
    await w.settle();
    await w.settle();
    expect(w.batches).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('retries a failed batch ahead of newer items, so order holds', async () => {
    const w = gatedWrites();
    const sut = new CoalescingQueue(w.write, options());
    sut.push(1);
    await tick();
    sut.push(2);
    await w.settle(new Error('dialogdb down'));
    expect(errors).toBe(1);
    expect(w.batches).toEqual([[1], [1, 2]]);
    await w.settle();
    expect(dropped).toEqual([]);
  });

  it('gives up the oldest items once too many wait, and says which', async () => {
    const w = gatedWrites();
    const sut = new CoalescingQueue(w.write, options({ maxQueued: 3 }));
    sut.push(1);
    await tick();
    [2, 3, 4].forEach((n) => sut.push(n));
    await w.settle(new Error('down'));
    // 1 came back in front of 2, 3, 4: one too many.
    expect(dropped).toEqual([{ items: [1], why: 'queue full' }]);
    expect(w.batches[1]).toEqual([2, 3, 4]);
    // The batch in flight is not waiting: four more overflow by one.
    [5, 6, 7, 8].forEach((n) => sut.push(n));
    expect(dropped[1]).toEqual({ items: [5], why: 'queue full' });
  });

  it('on close, writes what waits once more, gives up what fails, and takes nothing new', async () => {
    const w = gatedWrites();
    const sut = new CoalescingQueue(w.write, options({ maxBatch: 1 }));
    sut.push(1);
    sut.push(2);
    const closed = sut.close();
    await flushMicrotasks();
    await w.settle();
    await w.settle(new Error('down'));
    await closed;
    expect(w.batches).toEqual([[1], [2]]);
    expect(dropped).toEqual([{ items: [2], why: 'closed' }]);
    sut.push(3);
    expect(dropped[1]).toEqual({ items: [3], why: 'closed' });
  });
});
