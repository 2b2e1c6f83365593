/** What one item of a batch came to: its own result, or its own error. */
export type Outcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

export function settle<R>(promise: Promise<R>): Promise<Outcome<R>> {
  return promise.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );
}

interface Waiting<T, R> {
  item: T;
  resolve: (value: R) => void;
  reject: (error: unknown) => void;
}

interface Lane<T, R> {
  waiting: Array<Waiting<T, R>>;
  inFlight: number;
}

/**
 * Group commit per key (a shard): items submitted while `concurrency` batches of that key
 * are in flight wait and leave together, up to `maxBatch` at a time, in one call of `flush`.
 * There is no timer: an item arriving at an idle key leaves at once, so a lone request pays
 * nothing, and under load the batch grows by itself to what arrived during one round trip.
 * `flush` answers every item of its batch separately, so one item's error is only its own;
 * if `flush` itself throws, every item of that batch gets the error.
 */
export class GroupCommit<T, R> {
  private readonly lanes = new Map<string, Lane<T, R>>();

  constructor(
    private readonly flush: (key: string, items: T[]) => Promise<Array<Outcome<R>>>,
    private readonly maxBatch: number,
    private readonly concurrency: number,
    private readonly onBatch: (key: string, size: number) => void = () => undefined,
  ) {}

  submit(key: string, item: T): Promise<R> {
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { waiting: [], inFlight: 0 };
      this.lanes.set(key, lane);
    }
    const promise = new Promise<R>((resolve, reject) => lane.waiting.push({ item, resolve, reject }));
    if (lane.inFlight < this.concurrency) this.drain(key, lane);
    return promise;
  }

  private drain(key: string, lane: Lane<T, R>): void {
    const batch = lane.waiting.splice(0, this.maxBatch);
    lane.inFlight++;
    this.onBatch(key, batch.length);
    let flushed: Promise<Array<Outcome<R>>>;
    try {
      flushed = this.flush(key, batch.map((w) => w.item));
    } catch (error) {
      flushed = Promise.reject(error);
    }
    // The lane is freed before the answers go out, so the next batch leaves first.
    const done = (answer: (w: Waiting<T, R>, i: number) => void) => {
      lane.inFlight--;
      if (lane.waiting.length > 0) this.drain(key, lane);
      else if (lane.inFlight === 0) this.lanes.delete(key);
      batch.forEach(answer);
    };
    flushed.then(
      (outcomes) =>
        done((w, i) => {
          const outcome = outcomes[i];
          if (!outcome) w.reject(new Error(`group commit: no outcome for item ${i} of ${batch.length}`));
          else if (outcome.ok) w.resolve(outcome.value);
          else w.reject(outcome.error);
        }),
      (error: unknown) => done((w) => w.reject(error)),
    );
  }
}
