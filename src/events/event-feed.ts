import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { every } from '../common/every';
import { APP_CONFIG, ResolvedConfig } from '../config/app-config';
import { NotifyListener } from '../database/notify-listener';
import { EventRow } from './event.types';
import { EVENTS_CHANNEL, EventsRepository } from './events.repository';
import { StreamHub } from './stream-hub';

// Rows per read; a read that returns this many is followed at once by the next.
const READ_BATCH = 1000;

/**
 * Reads the events log for this instance, each event once, and hands it to the streams here.
 * A NOTIFY usually carries the appended rows themselves (see `notified`); otherwise it reads
 * `id > the last id read` whenever a NOTIFY says something was appended, every
 * EVENTS_POLL_MS in case a notification was missed, and after its LISTEN connection comes
 * back. Reads never overlap: a notification during a read makes one more read after it. It
 * also prunes the log: any instance may, so the log keeps its window while any one runs.
 */
@Injectable()
export class EventFeed implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Events');
  private lastSeen = 0;
  private reading: Promise<void> | null = null;
  private again = false;
  private readonly listener: NotifyListener;
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: ResolvedConfig,
    private readonly events: EventsRepository,
    private readonly hub: StreamHub,
  ) {
    const readOn = (what: string) => () => void this.read().catch((err: Error) => this.logger.warn(`events read ${what}: ${err.message}`));
    this.listener = new NotifyListener({
      url: config.dialogDbUrl,
      connectTimeoutMs: config.connectTimeoutMs,
      channel: EVENTS_CHANNEL,
      onNotify: (payload) => this.notified(payload, readOn('on notify')),
      // Whatever was appended while nobody listened.
      onListening: readOn('after LISTEN'),
      logger: this.logger,
    });
  }

  /** The id of the last event read: a stream opened now gets every event after it. */
  get position(): number {
    return this.lastSeen;
  }

  async onApplicationBootstrap(): Promise<void> {
    this.lastSeen = await this.events.position();
    await this.listener.start();
    const warn = (what: string) => (err: Error) => this.logger.warn(`events ${what}: ${err.message}`);
    this.timers.push(
      every(this.config.events.pollMs, () => this.read(), warn('read')),
      every(this.config.events.pruneMs, () => this.events.prune(this.config.events.retentionMs), warn('prune')),
    );
  }

  /**
   * A notification carries the rows an append added when they fit in it (see the migration's
   * append_events). Rows that follow on from the last one read go straight to the streams,
   * with no read of the log; anything else (no rows, a gap before them, a read in flight
   * that may be delivering them) is read from the log, in order.
   */
  notified(payload: string | undefined, read: () => void): void {
    const rows = payload === undefined || this.reading ? null : appendedRows(payload);
    if (rows === null || rows.length === 0 || rows[0].id > this.lastSeen + 1) return read();
    for (const row of rows) this.take(row);
  }

  /** Reads everything appended since the last read; concurrent calls share it, and one more read follows. */
  read(): Promise<void> {
    if (this.reading) {
      this.again = true;
      return this.reading;
    }
    this.reading = (async () => {
      do {
        this.again = false;
        await this.catchUp();
      } while (this.again && !this.stopped);
    })().finally(() => (this.reading = null));
    return this.reading;
  }

  private async catchUp(): Promise<void> {
    if (this.hub.empty) {
      // No stream here to hand rows to: only the position moves, by one index lookup.
      const newest = await this.events.position();
      // Still none: a stream that opens from now on starts at the new position. One that
      // opened during the lookup started at the old one, so its events are read below.
      if (this.hub.empty) {
        this.lastSeen = Math.max(this.lastSeen, newest);
        return;
      }
    }
    for (;;) {
      const { bounds, rows } = await this.events.after(this.lastSeen, READ_BATCH);
      if (bounds.prunedThrough > this.lastSeen) {
        // dialogdb was out of reach for longer than the retention: events for streams here are gone.
        this.logger.warn(`events ${this.lastSeen + 1} to ${bounds.prunedThrough} were pruned before this instance read them; its streams are told to resync`);
        this.hub.resyncAll(bounds.prunedThrough, 'events were lost');
        this.lastSeen = bounds.prunedThrough;
      }
      for (const row of rows) this.take(row);
      if (rows.length < READ_BATCH || this.stopped) return;
    }
  }

  /** Hands one row to the streams, once: rows come in id order, from the log or a notification. */
  private take(row: EventRow): void {
    if (row.id <= this.lastSeen) return;
    this.hub.deliver(row);
    this.lastSeen = row.id;
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.timers.forEach(clearInterval);
    await this.listener.stop();
    await this.reading?.catch(() => undefined);
  }
}

/** The rows a notification carries, as append_events writes them; null when it is not that. */
function appendedRows(payload: string): EventRow[] | null {
  try {
    const rows = JSON.parse(payload) as Array<{ i: number; r: string[]; t: EventRow['type']; p: string }>;
    return Array.isArray(rows) ? rows.map((r) => ({ id: Number(r.i), recipients: r.r, type: r.t, payload: r.p })) : null;
  } catch {
    return null;
  }
}
