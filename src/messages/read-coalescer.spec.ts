import { ReadCoalescer } from './read-coalescer';

function deferred<V>() {
  let resolve!: (v: V) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<V>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('ReadCoalescer', () => {
  it('shares one read among identical concurrent reads of a dialog', async () => {
    const rc = new ReadCoalescer<string>();
    const db = deferred<string>();
    const read = jest.fn(() => db.promise);
    const answers = [rc.read('d1', 'newest 50', read), rc.read('d1', 'newest 50', read), rc.read('d1', 'newest 50', read)];
    expect(read).toHaveBeenCalledTimes(1);
    db.resolve('page');
    await expect(Promise.all(answers)).resolves.toEqual(['page', 'page', 'page']);
  });

  it('never shares between different pages or dialogs', () => {
    const rc = new ReadCoalescer<string>();
    const read = jest.fn(() => new Promise<string>(() => undefined));
    void rc.read('d1', 'newest 50', read);
    void rc.read('d1', 'newest 20', read);
    void rc.read('d2', 'newest 50', read);
    expect(read).toHaveBeenCalledTimes(3);
  });

  it('does not let a read that arrives after an acknowledged write join a read sent before it', async () => {
    const rc = new ReadCoalescer<string>();
    const before = deferred<string>();
    const after = deferred<string>();
    const reads = [before, after];
    const read = jest.fn(() => reads.shift()!.promise);
    const early = rc.read('d1', 'newest 50', read);
    rc.wrote('d1');
    const late = rc.read('d1', 'newest 50', read);
    // The late read starts its own query and the next readers share that newer one.
    const later = rc.read('d1', 'newest 50', read);
    expect(read).toHaveBeenCalledTimes(2);
    before.resolve('page without the write');
    after.resolve('page with the write');
    await expect(early).resolves.toBe('page without the write');
    await expect(late).resolves.toBe('page with the write');
    await expect(later).resolves.toBe('page with the write');
  });

  it('a write to another dialog changes nothing', () => {
    const rc = new ReadCoalescer<string>();
    const read = jest.fn(() => new Promise<string>(() => undefined));
    void rc.read('d1', 'newest 50', read);
    rc.wrote('d2');
    void rc.read('d1', 'newest 50', read);
    expect(read).toHaveBeenCalledTimes(1);
  });

  it('shares a failure with those who joined, then reads afresh', async () => {
    const rc = new ReadCoalescer<string>();
    const first = deferred<string>();
    const read = jest.fn().mockReturnValueOnce(first.promise).mockResolvedValueOnce('second');
    const a = rc.read('d1', 'p', read);
    const b = rc.read('d1', 'p', read);
    first.reject(new Error('shard unavailable'));
    await expect(a).rejects.toThrow('shard unavailable');
    await expect(b).rejects.toThrow('shard unavailable');
    expect(rc.inFlight).toBe(0);
    await expect(rc.read('d1', 'p', read)).resolves.toBe('second');
  });

  it('forgets a read once it lands, so memory follows what is in flight', async () => {
    const rc = new ReadCoalescer<string>();
    await Promise.all([rc.read('d1', 'p', async () => 'x'), rc.read('d2', 'p', async () => 'y')]);
    expect(rc.inFlight).toBe(0);
  });
});
