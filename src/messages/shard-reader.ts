import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, ResolvedConfig } from '../config/app-config';
import { MetricsService } from '../observability/metrics.service';
import { GroupedRead } from './grouped-read';
import { ClientIdKey, MessagesRepository, PageJson, PageRequest } from './messages.repository';
import { MessageRow } from '../shards/message-schema';

/** The message path's reads, grouped per shard (see GroupedRead). */
@Injectable()
export class ShardReader {
  private readonly pages: GroupedRead<PageRequest, PageJson>;
  private readonly clientIds: GroupedRead<ClientIdKey, MessageRow | null>;

  constructor(messages: MessagesRepository, @Inject(APP_CONFIG) config: ResolvedConfig, metrics: MetricsService) {
    const batches = (kind: string) => (shard: string, size: number) => metrics.readBatchItems.observe({ shard, kind }, size);
    this.pages = new GroupedRead(
      (shard, r) => messages.pageJson(shard, r),
      (shard, rs) => messages.pagesJson(shard, rs),
      config.readBatchMax,
      config.readBatchesPerShard,
      batches('page'),
    );
    this.clientIds = new GroupedRead(
      (shard, k) => messages.findByClientId(shard, k),
      (shard, ks) => messages.findByClientIds(shard, ks),
      config.readBatchMax,
      config.readBatchesPerShard,
      batches('client_id'),
    );
  }

  /** A page as MessagesRepository.pageJson gives it. */
  page(shard: string, request: PageRequest): Promise<PageJson> {
    return this.pages.read(shard, request);
  }

  /** The message this author sent with this clientMessageId, as MessagesRepository.findByClientId gives it. */
  byClientId(shard: string, key: ClientIdKey): Promise<MessageRow | null> {
    return this.clientIds.read(shard, key);
  }
}
