import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { MetricsService } from '../observability/metrics.service';
import { EventRow, RESYNC } from './event.types';
import { CloseReason, EventStream } from './event-stream';
import { sseEvent } from './sse';
import { StreamStats } from './stream-stats';

/**
 * The streams open on this instance, by user. The feed hands it each event of the log once;
 * it formats the event once and writes it to the streams of its recipients that are here.
 */
@Injectable()
export class StreamHub implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger('Events');
  private readonly byUser = new Map<string, Set<EventStream>>();
  private heartbeat?: NodeJS.Timeout;
  private shuttingDown = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'events'>,
    private readonly stats: StreamStats,
    private readonly metrics: MetricsService,
  ) {
    metrics.gauge('chat_event_streams', 'Live event streams (GET /events) open on this instance', [], (g) => g.set(this.stats.open));
  }

  onModuleInit(): void {
    this.heartbeat = setInterval(() => this.each((s) => s.ping()), this.config.events.heartbeatMs);
    this.heartbeat.unref();
  }

  get closing(): boolean {
    return this.shuttingDown;
  }

  get empty(): boolean {
    return this.byUser.size === 0;
  }

  add(stream: EventStream): void {
    let streams = this.byUser.get(stream.userId);
    if (!streams) this.byUser.set(stream.userId, (streams = new Set()));
    streams.add(stream);
    this.stats.open++;
  }

  /** The stream's end, whoever ended it. */
  removed(stream: EventStream, reason: CloseReason): void {
    const streams = this.byUser.get(stream.userId);
    if (!streams?.delete(stream)) return;
    if (streams.size === 0) this.byUser.delete(stream.userId);
    this.stats.open--;
    this.metrics.streamsClosed.inc({ reason });
    // A stream never reaches the access log (its response is written by hand): this is its line.
    const line = `event stream ${stream.reqId} ended after ${((Date.now() - stream.openedAt) / 1000).toFixed(1)} s`;
    if (reason === 'slow_consumer') {
      this.logger.warn(
        `${line}: dropped a slow consumer, user ${JSON.stringify(stream.userId)}, with over ${this.config.events.maxBufferBytes} bytes unsent (EVENTS_MAX_BUFFER_KB)`,
      );
    } else {
      this.logger.log(`${line}: ${reason === 'client' ? 'the client left' : 'shutting down'}`);
    }
  }

  deliver(row: EventRow): void {
    let chunk: string | null = null;
    let sent = 0;
    for (const user of row.recipients) {
      const streams = this.byUser.get(user);
      if (!streams) continue;
      chunk ??= sseEvent(row.type, row.payload, row.id);
      for (const stream of streams) if (stream.offer(row.id, row.type, chunk)) sent++;
    }
    this.sent(row.type, sent);
  }

  /** Every stream here is told to reload: this instance lost events (it fell behind the log's retention). */
  resyncAll(id: number, reason: string): void {
    const chunk = sseEvent(RESYNC, JSON.stringify({ reason }), id);
    let sent = 0;
    this.each((s) => s.offer(id, RESYNC, chunk) && sent++);
    this.sent(RESYNC, sent);
  }

  sent(type: string, count: number): void {
    if (count === 0) return;
    this.stats.sent += count;
    this.metrics.eventsSent.inc({ type }, count);
  }

  // Before the HTTP server closes: it waits for every open response, and a stream never ends by itself.
  beforeApplicationShutdown(): void {
    this.shuttingDown = true;
    clearInterval(this.heartbeat);
    this.each((s) => s.close('shutdown'));
  }

  private each(fn: (stream: EventStream) => unknown): void {
    for (const streams of [...this.byUser.values()]) for (const stream of [...streams]) fn(stream);
  }
}
