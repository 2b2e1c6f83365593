import { Inject, Injectable } from '@nestjs/common';
import { isStatementError } from '../common/db-errors';
import { APP_CONFIG, ResolvedConfig } from '../config/app-config';
import { MetricsService } from '../observability/metrics.service';
import { LiveWrites } from '../shards/live-writes';
import { OwnershipError } from '../shards/ownership.error';
import { GroupCommit, Outcome, settle } from './group-commit';
import { MessagesRepository, NewMessage } from './messages.repository';
import { MessageRow } from '../shards/message-schema';

/**
 * Sends bound for one shard go to Postgres together (see GroupCommit): one multi-row
 * statement, one round trip and one commit for everything that arrived while the previous
 * batches were in flight. Each send keeps the answer it would have had alone.
 */
@Injectable()
export class MessageWriter {
  private readonly commits: GroupCommit<NewMessage, MessageRow | null>;
  /** SEND_BATCH_MAX=1: every send alone, as many at once as the pool allows. */
  private readonly alone: boolean;

  constructor(
    private readonly messages: MessagesRepository,
    @Inject(APP_CONFIG) config: ResolvedConfig,
    metrics: MetricsService,
    private readonly live: LiveWrites,
  ) {
    this.alone = config.sendBatchMax === 1;
    this.commits = new GroupCommit((shard, batch) => this.flush(shard, batch), config.sendBatchMax, config.sendBatchesPerShard, (shard, size) =>
      metrics.sendBatchRows.observe({ shard }, size),
    );
  }

  /** As MessagesRepository.insert: the new row, or null when the clientMessageId was used. */
  async insert(shard: string, message: NewMessage): Promise<MessageRow | null> {
    const row = await (this.alone ? this.messages.insert(shard, message) : this.commits.submit(shard, message));
    // A retry of a clientMessageId wrote nothing.
    if (row) this.live.record(shard);
    return row;
  }

  private async flush(shard: string, batch: NewMessage[]): Promise<Array<Outcome<MessageRow | null>>> {
    if (batch.length === 1) return [await settle(this.messages.insert(shard, batch[0]))];
    try {
      const inserted = new Map((await this.messages.insertMany(shard, batch)).map((row) => [row.id, row]));
      return batch.map((m) => ({ ok: true, value: inserted.get(m.id) ?? null }));
    } catch (err) {
      // The statement failed as a whole for what some rows were; each row must still get
      // the answer it would have had alone. A shard that cannot be reached fails them all,
      // as it would have one by one.
      if (err instanceof OwnershipError) return this.withoutRefused(shard, batch, err);
      if (isStatementError(err)) return this.oneByOne(shard, batch);
      throw err;
    }
  }

  /**
   * A reshard moved some of the batch's hashes away (the ring moved on): those rows are
   * refused, to be retried on the new route, and the rest is written together again.
   */
  private async withoutRefused(shard: string, batch: NewMessage[], refusal: OwnershipError): Promise<Array<Outcome<MessageRow | null>>> {
    const refused = await this.messages.refusedHashes(shard, [...new Set(batch.map((m) => m.ringHash))]);
    // The arcs changed back meanwhile: nothing is refused now, so the rows alone decide.
    if (refused.size === 0) return this.oneByOne(shard, batch);
    const rest = batch.filter((m) => !refused.has(m.ringHash));
    const written = rest.length ? await this.flush(shard, rest) : [];
    let next = 0;
    return batch.map((m) => (refused.has(m.ringHash) ? { ok: false, error: refusal } : written[next++]));
  }

  /**
   * Each row alone, in the batch's order: a row Postgres rejects fails by itself, and of two
   * sends with one clientMessageId the first still wins, as in the batch.
   */
  private async oneByOne(shard: string, batch: NewMessage[]): Promise<Array<Outcome<MessageRow | null>>> {
    const outcomes: Array<Outcome<MessageRow | null>> = [];
    for (const m of batch) outcomes.push(await settle(this.messages.insert(shard, m)));
    return outcomes;
  }
}
