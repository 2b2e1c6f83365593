import { Controller, Get, Headers, Post, Query, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiExtraModels,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiQuery,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { OutgoingHttpHeaders } from 'node:http';
import { AuthUser, CurrentUser, Public } from '../auth/auth.decorators';
import { ApiErrors, ApiUserAuth } from '../common/api-responses';
import { DomainErrorCode, DomainException } from '../common/domain.exception';
import { SchemaPipe } from '../common/schema.pipe';
import { EVENT_PAYLOADS, StreamTokenDto } from './events.dto';
import { EventsService } from './events.service';
import { parseLastEventId } from '../events/sse';

interface EventsQuery {
  token?: string;
  lastEventId?: string;
}

const TOKEN = { type: 'string', minLength: 1, maxLength: 4096, description: 'a stream token from POST /events/token (for EventSource, which cannot send headers)' };
const LAST_EVENT_ID = { type: 'string', maxLength: 32, description: 'as the Last-Event-ID header, for clients that cannot send it; the header wins' };
const eventsQueryPipe = () =>
  new SchemaPipe<EventsQuery>({ type: 'object', properties: { token: TOKEN, lastEventId: LAST_EVENT_ID }, additionalProperties: false }, 'query');

const STREAM_DESCRIPTION = [
  'A text/event-stream of the events of every dialog the caller takes part in, each with an `id:`.',
  'Event names and their `data` (JSON): ' +
    Object.entries(EVENT_PAYLOADS)
      .map(([name, dto]) => `\`${name}\`: ${dto.name}`)
      .join(', ') +
    '. Dialog events carry the JSON the REST API answers for the message or dialog, with its dialogId.',
  'A stream starts with the events missed after `Last-Event-ID` (kept for EVENTS_RETENTION_MS, 10 minutes by default), or with `resync`',
  '(reload pages) when it cannot replay them, then `ready` (whose id is where to resume from), then live events in order within each dialog.',
  '`: ping` comments come every EVENTS_HEARTBEAT_MS; a client that reads too slowly is sent `close` and dropped.',
].join(' ');

@ApiTags('events')
@Controller('events')
export class EventsController {
  constructor(private readonly events: EventsService) {}

  // Public to the guard: it authenticates itself, as it also takes a stream token in the query.
  @Get()
  @Public()
  @ApiBearerAuth()
  @ApiOperation({ summary: 'the caller\'s live event stream (Server-Sent Events)', description: STREAM_DESCRIPTION })
  @ApiProduces('text/event-stream')
  @ApiQuery({ name: 'token', required: false, schema: TOKEN })
  @ApiQuery({ name: 'lastEventId', required: false, schema: LAST_EVENT_ID })
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'the id of the last event the client received: what came after it is replayed' })
  @ApiExtraModels(...new Set(Object.values(EVENT_PAYLOADS)))
  @ApiOkResponse({
    description: 'the stream; each event\'s data is one of these',
    content: {
      'text/event-stream': { schema: { oneOf: [...new Set(Object.values(EVENT_PAYLOADS))].map((dto) => ({ $ref: getSchemaPath(dto) })) } },
    },
  })
  @ApiErrors({
    400: 'INVALID_INPUT: a bad Last-Event-ID, or a query parameter not described here',
    401: 'no token, or a bad or expired one',
    403: 'a viewer token',
    503: true,
  })
  async streamEvents(
    @Res() reply: FastifyReply,
    @Query(eventsQueryPipe()) query: EventsQuery,
    @Headers('authorization') authorization: string | undefined,
    @Headers('last-event-id') lastEventIdHeader: string | undefined,
  ): Promise<void> {
    const user = await this.events.authenticate(authorization, query.token);
    const lastEventId = parseLastEventId(lastEventIdHeader ?? query.lastEventId);
    if (lastEventId === null) {
      throw new DomainException(DomainErrorCode.InvalidInput, 'Last-Event-ID must be an event id this service sent: a decimal integer');
    }
    // From here the response is ours to write, as a stream.
    reply.hijack();
    await this.events.open(String(reply.request.id), user.id, reply.raw, reply.getHeaders() as OutgoingHttpHeaders, lastEventId);
  }

  @Post('token')
  @ApiUserAuth()
  @ApiOperation({ summary: 'a short-lived token that opens GET /events?token= (and nothing else), for EventSource' })
  @ApiCreatedResponse({ type: StreamTokenDto, description: 'a stream token' })
  createStreamToken(@CurrentUser() user: AuthUser): StreamTokenDto {
    return this.events.streamToken(user);
  }
}
