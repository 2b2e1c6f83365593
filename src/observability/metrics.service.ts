import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, collectDefaultMetrics, Registry } from 'prom-client';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * The service's Prometheus metrics. A registry per application, not prom-client's global
 * one, so several instances in one process (as in the tests) never collide.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly requests = new Counter({
    name: 'chat_http_requests_total',
    help: 'HTTP requests by route pattern, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });

  readonly requestSeconds = new Histogram({
    name: 'chat_http_request_duration_seconds',
    help: 'HTTP request latency by route pattern and method',
    labelNames: ['route', 'method'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly shardQueries = new Counter({
    name: 'chat_shard_queries_total',
    help: 'Statements run on each shard, by outcome (ok, unavailable, refused, error)',
    labelNames: ['shard', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly shardQuerySeconds = new Histogram({
    name: 'chat_shard_query_duration_seconds',
    help: 'Statement latency on each shard',
    labelNames: ['shard'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly sendBatchRows = new Histogram({
    name: 'chat_send_batch_rows',
    help: 'Sends written to a shard together in one statement (group commit)',
    labelNames: ['shard'] as const,
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
    registers: [this.registry],
  });

  readonly readBatchItems = new Histogram({
    name: 'chat_read_batch_items',
    help: 'Reads answered by one statement on a shard (grouped reads), by kind (page, client_id)',
    labelNames: ['shard', 'kind'] as const,
    buckets: [1, 2, 4, 8, 16, 32, 64, 128],
    registers: [this.registry],
  });

  readonly pageReads = new Counter({
    name: 'chat_page_reads_total',
    help: 'Pages of messages asked for (GET /dialogs/:id/messages that passed the access check)',
    registers: [this.registry],
  });

  readonly pageQueries = new Counter({
    name: 'chat_page_queries_total',
    help: 'Page reads that went to a shard; the rest shared an identical read in flight (hot dialogs)',
    registers: [this.registry],
  });

  readonly errors = new Counter({
    name: 'chat_errors_total',
    help: 'Error responses by kind (the error code, or the HTTP status for others)',
    labelNames: ['kind', 'status'] as const,
    registers: [this.registry],
  });

  readonly ownershipRefusals = new Counter({
    name: 'chat_ownership_refusals_total',
    help: 'Statements a shard refused because it does not serve the ring hash any more (each is retried on a reloaded ring)',
    labelNames: ['shard'] as const,
    registers: [this.registry],
  });

  readonly rowsCopied = new Counter({
    name: 'chat_reshard_rows_copied_total',
    help: "Rows this instance's copier moved to a reshard target",
    labelNames: ['target'] as const,
    registers: [this.registry],
  });

  readonly eventsPublished = new Counter({
    name: 'chat_events_published_total',
    help: 'Events this instance wrote to the events log (what its writes produced)',
    registers: [this.registry],
  });

  readonly eventPublishBatch = new Histogram({
    name: 'chat_event_publish_batch_rows',
    help: 'Events written to the events log together in one insert',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
    registers: [this.registry],
  });

  readonly eventPublishFailures = new Counter({
    name: 'chat_event_publish_failures_total',
    help: 'Inserts into the events log that failed (each is retried)',
    registers: [this.registry],
  });

  readonly eventsDropped = new Counter({
    name: 'chat_events_dropped_total',
    help: 'Events given up before reaching the log, by reason; their recipients are told to resync',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly eventsSent = new Counter({
    name: 'chat_events_sent_total',
    help: 'Events written to live streams on this instance, by type',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });

  readonly streamsClosed = new Counter({
    name: 'chat_event_streams_closed_total',
    help: 'Live streams ended on this instance, by reason (client, slow_consumer, shutdown)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'chat_process_' });
  }

  /** A gauge whose value is read at scrape time, so it is never stale. */
  gauge<L extends string>(name: string, help: string, labelNames: readonly L[], collect: (g: Gauge<L>) => void | Promise<void>): Gauge<L> {
    return new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        this.reset();
        await collect(this);
      },
    });
  }
}
