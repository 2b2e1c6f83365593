import { isStatementError } from '../common/db-errors';
import { OwnershipError } from '../shards/ownership.error';
import { GroupCommit, Outcome, settle } from './group-commit';

/**
 * Reads bound for one shard go to Postgres together (see GroupCommit): one statement answers
 * every read of its kind asked while the previous statements were in flight. A statement
 * costs a shard and the service a round trip, a socket write each way and its own overhead,
 * which many small queries pay many times over; and fewer statements in flight need fewer
 * connections, so a burst (the start of a reshard's copy) opens no new ones.
 *
 * Freshness is as alone: a read's statement starts after the read arrived, so it sees every
 * write acknowledged before that. `maxBatch` 1 reads every item alone, as many at once as the
 * pool allows.
 */
export class GroupedRead<T, R> {
  private readonly group: GroupCommit<T, R>;

  constructor(
    private readonly one: (shard: string, item: T) => Promise<R>,
    private readonly many: (shard: string, items: T[]) => Promise<R[]>,
    private readonly maxBatch: number,
    concurrency: number,
    onBatch: (shard: string, size: number) => void,
  ) {
    this.group = new GroupCommit((shard, batch) => this.flush(shard, batch), maxBatch, concurrency, onBatch);
  }

  read(shard: string, item: T): Promise<R> {
    return this.maxBatch === 1 ? this.one(shard, item) : this.group.submit(shard, item);
  }

  private async flush(shard: string, batch: T[]): Promise<Array<Outcome<R>>> {
    if (batch.length === 1) return [await settle(this.one(shard, batch[0]))];
    try {
      return (await this.many(shard, batch)).map((value) => ({ ok: true, value }));
    } catch (err) {
      // The statement fails as a whole for what one item was: a dialog whose arc moved away
      // (a stale route) is refused, to be retried on the new route, but only that dialog.
      // Each item alone gets the answer it would have had without the others. A shard that
      // cannot be reached fails them all, as it would have one by one.
      if (err instanceof OwnershipError || isStatementError(err)) return Promise.all(batch.map((item) => settle(this.one(shard, item))));
      throw err;
    }
  }
}
