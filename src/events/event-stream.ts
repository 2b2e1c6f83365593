import type { ServerResponse } from 'node:http';
import { CLOSE } from './event.types';
import { sseComment, sseEvent } from './sse';

interface Held {
  id: number;
  type: string;
  chunk: string;
}

export type CloseReason = 'client' | 'slow_consumer' | 'shutdown';

const CLOSE_MESSAGES: Record<Exclude<CloseReason, 'client'>, string> = {
  slow_consumer: 'the client reads too slowly: events piled up past the limit; reconnect with Last-Event-ID',
  shutdown: 'this instance is shutting down; reconnect with Last-Event-ID',
};

// A dropped slow consumer's socket takes no more data; this bounds how long the last bytes may try.
const LAST_WORDS_MS = 1000;

/**
 * One client's open text/event-stream. It writes straight to the socket and never holds more
 * than `maxBufferBytes` unsent: past that the client is not keeping up, and the stream ends
 * rather than let memory grow with every event it cannot take. Until `goLive`, events from the
 * log wait in a backlog (bounded the same way) while the stream replays what the client missed.
 */
export class EventStream {
  /** The id of the last event sent, or the point the stream resumed from: nothing at or below it is sent again. */
  position = 0;
  private backlog: Held[] | null = [];
  private backlogBytes = 0;
  /** The backlog overflowed while the stream caught up: what it dropped calls for a resync. */
  overflowed = false;
  private ended = false;
  readonly openedAt = Date.now();

  constructor(
    /** The request's id, for the log. */
    readonly reqId: string,
    readonly userId: string,
    private readonly res: ServerResponse,
    private readonly maxBufferBytes: number,
    private readonly onEnd: (stream: EventStream, reason: CloseReason) => void,
  ) {
    res.once('close', () => this.finish('client'));
  }

  get open(): boolean {
    return !this.ended;
  }

  /** An event from the log: held while catching up, else sent unless it was sent already. True when it went out. */
  offer(id: number, type: string, chunk: string): boolean {
    if (this.ended) return false;
    if (!this.backlog) return this.send(id, chunk);
    this.backlogBytes += chunk.length;
    if (this.backlogBytes > this.maxBufferBytes) {
      this.overflowed = true;
      this.backlog = [];
      this.backlogBytes = 0;
    } else {
      this.backlog.push({ id, type, chunk });
    }
    return false;
  }

  /** Sends an event now, in order: one at or below the position was sent already. */
  send(id: number, chunk: string): boolean {
    if (this.ended || id <= this.position) return false;
    this.position = id;
    this.write(chunk);
    return true;
  }

  /** From `position` on, events go out as they come; the backlog's newer ones first. Returns those sent. */
  goLive(position: number): Held[] {
    this.position = Math.max(this.position, position);
    const held = this.backlog ?? [];
    this.backlog = null;
    return held.filter(({ id, chunk }) => this.send(id, chunk));
  }

  ping(): void {
    this.write(sseComment('ping'));
  }

  write(chunk: string): void {
    if (this.ended) return;
    this.res.write(chunk);
    if (this.res.writableLength > this.maxBufferBytes) this.close('slow_consumer');
  }

  /** Ends the stream with a last `close` event saying why. */
  close(reason: Exclude<CloseReason, 'client'>): void {
    if (this.ended) return;
    const last = sseEvent(CLOSE, JSON.stringify({ reason, message: CLOSE_MESSAGES[reason] }));
    this.finish(reason);
    this.res.end(last);
    if (reason === 'slow_consumer') {
      // end() waits for the socket to drain, which a stalled client never does.
      const timer = setTimeout(() => this.res.destroy(), LAST_WORDS_MS);
      timer.unref();
      this.res.once('close', () => clearTimeout(timer));
    }
  }

  private finish(reason: CloseReason): void {
    if (this.ended) return;
    this.ended = true;
    this.backlog = null;
    this.onEnd(this, reason);
  }
}
