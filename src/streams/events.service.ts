import { ForbiddenException, Inject, Injectable, Logger, UnauthorizedException } from '@nestjs/common';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { AuthUser } from '../auth/auth.decorators';
import { STREAM_TOKEN_TTL_S, TokenService } from '../auth/token.service';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { READY, RESYNC } from '../events/event.types';
import { EventFeed } from '../events/event-feed';
import { EventStream } from '../events/event-stream';
import { StreamTokenDto } from './events.dto';
import { EventsRepository } from '../events/events.repository';
import { sseEvent, sseRetry } from '../events/sse';
import { StreamHub } from '../events/stream-hub';

/** A client that missed more than this reloads its pages instead: past it, a replay costs more than a reload. */
export const REPLAY_MAX = 1000;
// EventSource's reconnection delay.
const RETRY_MS = 2000;

/**
 * Opens live streams: who may, where each one starts (a replay from Last-Event-ID, or a
 * resync), and from when it is live.
 */
@Injectable()
export class EventsService {
  private readonly logger = new Logger('Events');

  constructor(
    @Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'events'>,
    private readonly tokens: TokenService,
    private readonly events: EventsRepository,
    private readonly feed: EventFeed,
    private readonly hub: StreamHub,
  ) {}

  streamToken(user: AuthUser): StreamTokenDto {
    return { token: this.tokens.signStream(user.id), expiresIn: STREAM_TOKEN_TTL_S };
  }

  /**
   * The stream's user: from `Authorization: Bearer` (any token that opens the API), else from
   * a stream token in `?token=`. A header wins, as on the state page.
   */
  async authenticate(authorization: string | undefined, queryToken: string | undefined): Promise<AuthUser> {
    const bearer = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    if (authorization && bearer === undefined) throw new UnauthorizedException('Authorization must be Bearer <JWT>');
    if (bearer === undefined && !queryToken) {
      throw new UnauthorizedException('missing token: send Authorization: Bearer <JWT>, or ?token= with a token from POST /events/token');
    }
    const checked = bearer !== undefined ? await this.tokens.check(bearer) : this.tokens.checkStream(queryToken!);
    if ('refused' in checked) throw new UnauthorizedException(checked.refused);
    if (checked.user.viewer) throw new ForbiddenException('a viewer token only opens the state page (/state)');
    return checked.user;
  }

  /**
   * Streams the user's events to `res` until either side ends it. The stream joins the hub
   * first (so nothing appended from now on can pass it by) and holds live events back while
   * it replays what the client missed; then it sends `ready`, with the id to resume from, and
   * whatever arrived meanwhile.
   */
  async open(reqId: string, userId: string, res: ServerResponse, headers: OutgoingHttpHeaders, lastEventId: number | undefined): Promise<void> {
    res.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      // Proxies must neither cache nor buffer it (X-Accel-Buffering: nginx).
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    });
    res.write(sseRetry(RETRY_MS));
    const stream = new EventStream(reqId, userId, res, this.config.events.maxBufferBytes, (s, reason) => this.hub.removed(s, reason));
    // Gone while it was authenticated: its close came before the stream could hear it.
    if (res.destroyed) return;
    this.hub.add(stream);
    if (this.hub.closing) return stream.close('shutdown');
    const start = this.feed.position;
    const { replayed, resync } = lastEventId === undefined ? { replayed: 0, resync: null } : await this.replay(stream, lastEventId);
    const position = Math.max(stream.position, start);
    if (resync) {
      stream.write(sseEvent(RESYNC, JSON.stringify({ reason: resync }), position));
      this.hub.sent(RESYNC, 1);
    }
    stream.write(sseEvent(READY, JSON.stringify({ replayed, resync: resync !== null }), position));
    for (const { type } of stream.goLive(position)) this.hub.sent(type, 1);
    // Live events piled up past the bound while the replay was read: as slow as a slow consumer.
    if (stream.overflowed) stream.close('slow_consumer');
  }

  /** Sends the user's events after `lastEventId`; or says why it cannot (the resync's reason). */
  private async replay(stream: EventStream, lastEventId: number): Promise<{ replayed: number; resync: string | null }> {
    let read;
    try {
      read = await this.events.afterFor(stream.userId, lastEventId, REPLAY_MAX + 1);
    } catch (err) {
      this.logger.warn(`replay after ${lastEventId} failed: ${(err as Error).message}`);
      return { replayed: 0, resync: 'missed events cannot be read right now' };
    }
    const { bounds, rows } = read;
    if (lastEventId < bounds.prunedThrough) {
      return { replayed: 0, resync: `events after ${lastEventId} are past the retention window (${this.config.events.retentionMs / 1000} s)` };
    }
    if (lastEventId > bounds.lastIssued) return { replayed: 0, resync: `no event ${lastEventId} was ever sent` };
    if (rows.length > REPLAY_MAX) return { replayed: 0, resync: `more than ${REPLAY_MAX} events were missed` };
    stream.position = lastEventId;
    for (const row of rows) if (stream.send(row.id, sseEvent(row.type, row.payload, row.id))) this.hub.sent(row.type, 1);
    return { replayed: rows.length, resync: null };
  }
}
