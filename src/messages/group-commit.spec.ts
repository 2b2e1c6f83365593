import { GroupCommit, Outcome } from './group-commit';

/** A flush whose batches the test answers by hand, in any order. */
function harness(maxBatch = 100, concurrency = 1) {
  const calls: Array<{ key: string; items: number[]; answer: (outcomes: Array<Outcome<string>>) => void; fail: (error: Error) => void }> = [];
  const gc = new GroupCommit<number, string>(
    (key, items) =>
      new Promise((resolve, reject) => {
        calls.push({ key, items, answer: resolve, fail: reject });
      }),
    maxBatch,
    concurrency,
  );
  const ok = (items: number[]) => items.map((i) => ({ ok: true as const, value: `row ${i}` }));
  return { gc, calls, ok };
}

describe('GroupCommit', () => {
  it('sends a lone item at once, with no timer', () => {
    const { gc, calls } = harness();
    void gc.submit('shard-0', 1);
    expect(calls.map((c) => c.items)).toEqual([[1]]);
  });

  it('gathers what arrives while a batch is in flight into the next one', async () => {
    const { gc, calls, ok } = harness();
    const first = gc.submit('shard-0', 1);
    const rest = [2, 3, 4].map((i) => gc.submit('shard-0', i));
    expect(calls).toHaveLength(1);
    calls[0].answer(ok([1]));
    await expect(first).resolves.toBe('row 1');
    expect(calls.map((c) => c.items)).toEqual([[1], [2, 3, 4]]);
    calls[1].answer(ok([2, 3, 4]));
    await expect(Promise.all(rest)).resolves.toEqual(['row 2', 'row 3', 'row 4']);
  });

  it('keeps keys apart: a busy shard never delays another', () => {
    const { gc, calls } = harness();
    void gc.submit('shard-0', 1);
    void gc.submit('shard-0', 2);
    void gc.submit('shard-1', 3);
    expect(calls.map((c) => [c.key, c.items])).toEqual([
      ['shard-0', [1]],
      ['shard-1', [3]],
    ]);
  });

  it('runs up to `concurrency` batches of a key at once and caps their size', async () => {
    const { gc, calls, ok } = harness(2, 2);
    const all = [1, 2, 3, 4, 5, 6].map((i) => gc.submit('s', i));
    expect(calls.map((c) => c.items)).toEqual([[1], [2]]);
    calls[0].answer(ok([1]));
    await all[0];
    expect(calls.map((c) => c.items)).toEqual([[1], [2], [3, 4]]);
    calls[1].answer(ok([2]));
    await all[1];
    expect(calls.map((c) => c.items)).toEqual([[1], [2], [3, 4], [5, 6]]);
  });

  it("answers each item with its own outcome: one item's error is not its neighbours'", async () => {
    const { gc, calls, ok } = harness();
    void gc.submit('s', 0);
    const items = [1, 2, 3].map((i) => gc.submit('s', i));
    calls[0].answer(ok([0]));
    await new Promise((resolve) => setImmediate(resolve));
    calls[1].answer([{ ok: true, value: 'row 1' }, { ok: false, error: new Error('bad row 2') }, { ok: true, value: 'row 3' }]);
    const settled = await Promise.allSettled(items);
    expect(settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message))).toEqual(['row 1', 'bad row 2', 'row 3']);
  });

  it('fails only the batch whose flush throws, and goes on with the next', async () => {
    const { gc, calls, ok } = harness();
    const first = gc.submit('s', 1);
    const second = gc.submit('s', 2);
    calls[0].fail(new Error('shard unavailable'));
    await expect(first).rejects.toThrow('shard unavailable');
    calls[1].answer(ok([2]));
    await expect(second).resolves.toBe('row 2');
  });

  it('rejects rather than hangs when a flush answers too few outcomes', async () => {
    const { gc, calls } = harness();
    const first = gc.submit('s', 1);
    calls[0].answer([]);
    await expect(first).rejects.toThrow('no outcome');
  });

  it('rejects the batch when flush throws before returning a promise', async () => {
    const gc = new GroupCommit<number, string>(
      () => {
        throw new Error('synchronous');
      },
      10,
      1,
    );
    await expect(gc.submit('s', 1)).rejects.toThrow('synchronous');
    // The lane is free again: the next item is flushed (and fails the same way), not stuck.
    await expect(gc.submit('s', 2)).rejects.toThrow('synchronous');
  });
});
