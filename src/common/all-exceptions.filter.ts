import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainErrorCode, DomainException } from './domain.exception';
import { isConnectionError } from './db-errors';
import { UNAVAILABLE_RETRY_AFTER_S } from './retry-after';
import { maskUrl } from '../observability/logging';
import { MetricsService } from '../observability/metrics.service';

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  code?: string;
  [extra: string]: unknown;
}

export function statusOf(code: DomainErrorCode): number {
  switch (code) {
    case DomainErrorCode.DialogNotFound:
    case DomainErrorCode.MessageNotFound:
    case DomainErrorCode.ShardNotFound:
    case DomainErrorCode.ReshardNotFound:
      return HttpStatus.NOT_FOUND;
    case DomainErrorCode.MessageDeleted:
      return HttpStatus.GONE;
    case DomainErrorCode.ReshardConflict:
      return HttpStatus.CONFLICT;
    case DomainErrorCode.DatabaseUnreachable:
      return HttpStatus.UNPROCESSABLE_ENTITY;
    case DomainErrorCode.NotMessageAuthor:
      return HttpStatus.FORBIDDEN;
    case DomainErrorCode.InvalidCursor:
    case DomainErrorCode.InvalidInput:
      return HttpStatus.BAD_REQUEST;
    case DomainErrorCode.UnsupportedMediaType:
      return HttpStatus.UNSUPPORTED_MEDIA_TYPE;
    case DomainErrorCode.RateLimited:
      return HttpStatus.TOO_MANY_REQUESTS;
    case DomainErrorCode.ShardUnavailable:
    case DomainErrorCode.DialogDbUnavailable:
    case DomainErrorCode.RingUnavailable:
    case DomainErrorCode.IdentityProviderUnavailable:
      return HttpStatus.SERVICE_UNAVAILABLE;
  }
}

function reasonPhrase(status: number): string {
  const name = HttpStatus[status];
  if (!name) return status >= 500 ? 'Server Error' : 'Error';
  return name
    .toLowerCase()
    .split('_')
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join(' ');
}

/** A 429 names its own wait (when its bucket has a token again); every 503 gets the same short one. */
function retryAfterOf(body: ErrorBody): number | undefined {
  if (typeof body.retryAfter === 'number') return body.retryAfter;
  return body.statusCode === HttpStatus.SERVICE_UNAVAILABLE ? UNAVAILABLE_RETRY_AFTER_S : undefined;
}

/** Fastify's refusals of a body, in the service's words: what was wrong and what to send instead. */
const FASTIFY_INPUT_ERRORS: Partial<Record<string, [DomainErrorCode, string]>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: [DomainErrorCode.InvalidInput, 'the body is not valid JSON'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [DomainErrorCode.InvalidInput, 'the body is empty but its Content-Type is application/json: send a JSON object, or no Content-Type with no body'],
  // A Content-Type header Fastify cannot parse at all; the types it can parse but the service
  // does not take are refused by the bootstrap's catch-all parser, in the same words.
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [DomainErrorCode.UnsupportedMediaType, 'request bodies must be JSON, sent with Content-Type: application/json'],
};

/** The code of a Fastify error, as thrown or as the cause of the HttpException Nest maps a 4xx one to. */
function fastifyCodeOf(exception: unknown): string | undefined {
  for (const candidate of [exception, (exception as { cause?: unknown })?.cause]) {
    const code = (candidate as { code?: unknown })?.code;
    if (typeof code === 'string' && code.startsWith('FST_')) return code;
  }
  return undefined;
}

/** Every 400 carries a code, so a client tells bad input from anything else without reading the message. */
function withInputCode(body: ErrorBody): ErrorBody {
  return body.statusCode === HttpStatus.BAD_REQUEST && body.code === undefined ? { ...body, code: DomainErrorCode.InvalidInput } : body;
}

function messageOf(response: unknown, fallback: string): string {
  if (typeof response === 'string') return response;
  const m = (response as { message?: unknown })?.message;
  if (Array.isArray(m)) return m.join('; ');
  if (typeof m === 'string') return m;
  return fallback;
}

/**
 * The one place that turns any failure into the JSON error contract
 * `{ statusCode, error, message }`: clients never see a stack trace, and bad input
 * (including what Fastify rejects before routing: bad JSON, huge bodies) is a 4xx.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  constructor(private readonly metrics?: MetricsService) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    const body = this.toBody(exception);
    this.metrics?.errors.inc({ kind: body.code ?? String(body.statusCode), status: String(body.statusCode) });
    if (body.statusCode >= 500) {
      const detail = exception instanceof Error ? (exception.stack ?? exception.message) : String(exception);
      this.logger.error(`${request?.method} ${maskUrl(request?.url ?? '')} -> ${body.statusCode}: ${detail}`);
    }
    const retryAfter = retryAfterOf(body);
    if (retryAfter !== undefined) void reply.header('Retry-After', String(retryAfter));
    void reply.status(body.statusCode).header('content-type', 'application/json; charset=utf-8').send(this.present(body, request));
  }

  /** The body as this filter's routes spell it; a filter for routes with a contract of their own overrides it. */
  protected present(body: ErrorBody, _request: FastifyRequest): object {
    return body;
  }

  toBody(exception: unknown): ErrorBody {
    if (exception instanceof DomainException) {
      const statusCode = statusOf(exception.code);
      return {
        ...exception.details,
        statusCode,
        error: reasonPhrase(statusCode),
        message: exception.message,
        code: exception.code,
      };
    }
    const known = FASTIFY_INPUT_ERRORS[fastifyCodeOf(exception) ?? ''];
    if (known) return this.toBody(new DomainException(known[0], known[1]));
    if (exception instanceof HttpException) {
      const statusCode = exception.getStatus();
      return withInputCode({ statusCode, error: reasonPhrase(statusCode), message: messageOf(exception.getResponse(), exception.message) });
    }
    // Fastify's own errors (body parsing, size limits) carry a 4xx statusCode.
    const status = (exception as { statusCode?: unknown })?.statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return withInputCode({ statusCode: status, error: reasonPhrase(status), message: (exception as Error).message });
    }
    if (isConnectionError(exception)) {
      return {
        statusCode: HttpStatus.SERVICE_UNAVAILABLE,
        error: reasonPhrase(HttpStatus.SERVICE_UNAVAILABLE),
        message: 'a database is unavailable, try again shortly',
      };
    }
    return {
      statusCode: HttpStatus.INTERNAL_SERVER_ERROR,
      error: reasonPhrase(HttpStatus.INTERNAL_SERVER_ERROR),
      message: 'internal error',
    };
  }
}
