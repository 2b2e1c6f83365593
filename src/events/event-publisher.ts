import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, ResolvedConfig } from '../config/app-config';
import { MetricsService } from '../observability/metrics.service';
import { CoalescingQueue } from './coalescing-queue';
import { DialogEventType, NewEvent, RESYNC } from './event.types';
import { EventsRepository } from './events.repository';

// One insert of this many rows is a few hundred kB of JSON at most; bigger batches only
// lengthen the time others wait for the append lock.
const MAX_BATCH = 500;
// While dialogdb is down, events wait in memory up to this many (a few MB); past it the
// oldest are given up and their recipients told to resync once dialogdb is back.
const MAX_QUEUED = 20_000;
const RETRY_DELAY_MS = 500;

/**
 * Publishes what writes acknowledged to the events log. A write calls `publish` after its
 * statement committed, and publish only queues: the insert happens after, in batches, off the
 * request's path, so an event can neither slow nor fail a send. Events that cannot be stored
 * (dialogdb down too long) are not silently gone: their recipients get a `resync` event when
 * dialogdb answers again.
 */
@Injectable()
export class EventPublisher implements OnApplicationShutdown {
  private readonly logger = new Logger('Events');
  private readonly queue: CoalescingQueue<NewEvent>;
  /** Users some of whose events were given up, owed a resync. */
  private lost = new Set<string>();

  constructor(
    @Inject(APP_CONFIG) config: ResolvedConfig,
    private readonly events: EventsRepository,
    private readonly metrics: MetricsService,
  ) {
    this.queue = new CoalescingQueue((batch) => this.write(batch), {
      maxBatch: MAX_BATCH,
      minIntervalMs: config.events.appendIntervalMs,
      maxQueued: MAX_QUEUED,
      retryDelayMs: RETRY_DELAY_MS,
      onWriteError: (err, batch) => {
        this.metrics.eventPublishFailures.inc();
        this.logger.warn(`publishing ${batch.length} events failed, retrying: ${(err as Error).message}`);
      },
      onDropped: (items, why) => {
        this.metrics.eventsDropped.inc({ reason: why === 'closed' ? 'shutdown' : 'queue_full' }, items.length);
        for (const item of items) for (const user of item.recipients) this.lost.add(user);
        this.logger.error(`gave up ${items.length} events (${why}); their ${this.lost.size} recipients will be told to resync`);
      },
    });
    metrics.gauge('chat_events_queued', 'Events waiting to be written to the events log on this instance', [], (g) => g.set(this.queue.size));
  }

  /** Queues an event about a dialog for its participants. The write it reports has committed. */
  publish(type: DialogEventType, dialogId: string, participants: Iterable<string>, payload: object): void {
    this.queue.push({ type, dialogId, recipients: participants, payload });
  }

  private async write(batch: NewEvent[]): Promise<void> {
    const owed = this.lost;
    this.lost = new Set();
    const rows: NewEvent[] = owed.size ? [{ type: RESYNC, dialogId: null, recipients: owed, payload: { reason: 'events were lost' } }, ...batch] : batch;
    try {
      await this.events.append(rows);
    } catch (err) {
      for (const user of owed) this.lost.add(user);
      throw err;
    }
    this.metrics.eventsPublished.inc(batch.length);
    this.metrics.eventPublishBatch.observe(batch.length);
  }

  // After the HTTP server has drained (every acknowledged write has published) and before
  // dialogdb's pool closes (CoreModule's hooks run last).
  onApplicationShutdown(): Promise<void> {
    return this.queue.close();
  }
}
