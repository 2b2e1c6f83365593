import { Inject, Injectable } from '@nestjs/common';
import { DatabaseError } from 'pg';
import { APP_CONFIG, ResolvedConfig } from '../config/app-config';
import { MetricsService } from '../observability/metrics.service';
import { OwnershipError } from '../shards/ownership.error';
import { GroupCommit, Outcome, settle } from './group-commit';
import { MessagesRepository, PageJson, PageRequest } from './messages.repository';

/**
 * Page reads bound for one shard go to Postgres together (see GroupCommit): one statement
 * builds every page that was asked for while the previous statements were in flight. A
 * statement costs a shard and the service a round trip, a socket write each way and its own
 * overhead, which many small page queries pay many times over.
 *
 * Freshness is as alone: a read's statement starts after the read arrived, so it sees every
 * send acknowledged before that.
 */
@Injectable()
export class PageReader {
  private readonly reads: GroupCommit<PageRequest, PageJson>;
  /** PAGE_BATCH_MAX=1: every page alone, as many at once as the pool allows. */
  private readonly alone: boolean;

  constructor(
    private readonly messages: MessagesRepository,
    @Inject(APP_CONFIG) config: ResolvedConfig,
    metrics: MetricsService,
  ) {
    this.alone = config.pageBatchMax === 1;
    this.reads = new GroupCommit((shard, batch) => this.flush(shard, batch), config.pageBatchMax, config.pageBatchesPerShard, (shard, size) =>
      metrics.pageBatchPages.observe({ shard }, size),
    );
  }

  page(shard: string, request: PageRequest): Promise<PageJson> {
    return this.alone ? this.messages.pageJson(shard, request) : this.reads.submit(shard, request);
  }

  private async flush(shard: string, batch: PageRequest[]): Promise<Array<Outcome<PageJson>>> {
    if (batch.length === 1) return [await settle(this.messages.pageJson(shard, batch[0]))];
    try {
      return (await this.messages.pagesJson(shard, batch)).map((value) => ({ ok: true, value }));
    } catch (err) {
      // The statement fails as a whole for what one page was: a dialog whose arc moved away
      // (a stale route) is refused, to be retried on the new route, but only that dialog.
      // Each page alone gets the answer it would have had without the others. A shard that
      // cannot be reached fails them all, as it would have one by one.
      if (err instanceof OwnershipError || err instanceof DatabaseError) return Promise.all(batch.map((r) => settle(this.messages.pageJson(shard, r))));
      throw err;
    }
  }
}
