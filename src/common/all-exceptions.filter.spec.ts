import { ArgumentsHost, BadRequestException, HttpException, Logger } from '@nestjs/common';
import { AllExceptionsFilter } from './all-exceptions.filter';
import { DomainErrorCode, DomainException } from './domain.exception';

describe('AllExceptionsFilter.toBody', () => {
  const sut = new AllExceptionsFilter();

  it('maps domain codes to their status and keeps their details', () => {
    expect(sut.toBody(new DomainException(DomainErrorCode.ShardUnavailable, 'shard shard-1 is unavailable', { database: 'shard-1' }))).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'shard shard-1 is unavailable',
      code: 'SHARD_UNAVAILABLE',
      database: 'shard-1',
    });
    expect(sut.toBody(new DomainException(DomainErrorCode.NotMessageAuthor, 'no')).statusCode).toBe(403);
    expect(sut.toBody(new DomainException(DomainErrorCode.DialogNotFound, 'no')).statusCode).toBe(404);
    expect(sut.toBody(new DomainException(DomainErrorCode.InvalidCursor, 'no')).statusCode).toBe(400);
    expect(sut.toBody(new DomainException(DomainErrorCode.MessageDeleted, 'gone', { messageId: 'm' }))).toEqual({
      statusCode: 410,
      error: 'Gone',
      message: 'gone',
      code: 'MESSAGE_DELETED',
      messageId: 'm',
    });
  });

  it('joins validation messages into one string, and gives every 400 a code', () => {
    expect(sut.toBody(new BadRequestException(['text must be a string', 'text must not be blank']))).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'text must be a string; text must not be blank',
      code: 'INVALID_INPUT',
    });
    expect(sut.toBody(Object.assign(new Error('odd'), { statusCode: 400, code: 'FST_ERR_SOMETHING' }))).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'odd',
      code: 'INVALID_INPUT',
    });
  });

  it("words Fastify's refusals of a body as the service's own", () => {
    const fastify = (code: string, statusCode: number) => Object.assign(new Error(code), { code, statusCode });
    expect(sut.toBody(fastify('FST_ERR_CTP_INVALID_JSON_BODY', 400))).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'the body is not valid JSON',
      code: 'INVALID_INPUT',
    });
    expect(sut.toBody(fastify('FST_ERR_CTP_EMPTY_JSON_BODY', 400))).toMatchObject({ statusCode: 400, code: 'INVALID_INPUT', message: expect.stringMatching(/^the body is empty/) });
    // As Nest hands a Fastify 4xx over: an HttpException caused by it.
    expect(sut.toBody(new HttpException('Body is not valid JSON', 400, { cause: fastify('FST_ERR_CTP_INVALID_JSON_BODY', 400) }))).toMatchObject({
      message: 'the body is not valid JSON',
      code: 'INVALID_INPUT',
    });
    expect(sut.toBody(fastify('FST_ERR_CTP_INVALID_MEDIA_TYPE', 415))).toEqual({
      statusCode: 415,
      error: 'Unsupported Media Type',
      message: 'request bodies must be JSON, sent with Content-Type: application/json',
      code: 'UNSUPPORTED_MEDIA_TYPE',
    });
  });

  it("keeps Fastify's own 4xx (body too large)", () => {
    const err = Object.assign(new Error('Request body is too large'), { statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' });
    expect(sut.toBody(err)).toEqual({ statusCode: 413, error: 'Payload Too Large', message: 'Request body is too large' });
  });

  it('turns an unreachable database into 503 and anything else into a bare 500', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    expect(sut.toBody(refused).statusCode).toBe(503);
    const bug = sut.toBody(new TypeError('x is undefined'));
    expect(bug).toEqual({ statusCode: 500, error: 'Internal Server Error', message: 'internal error' });
  });
});

describe('AllExceptionsFilter logging a 5xx', () => {
  it('logs the request URL with its tokens masked', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvcHMifQ.c2lnbmF0dXJlc2lnbmF0dXJl';
    const url = `/state/data?token=${jwt}&%74oken=${jwt}`;
    const reply = { status: () => reply, header: () => reply, send: () => reply };
    const http = { getRequest: () => ({ method: 'GET', url }), getResponse: () => reply };
    const host = { switchToHttp: () => http } as unknown as ArgumentsHost;
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    try {
      new AllExceptionsFilter().catch(new TypeError('boom'), host);
      expect(logged).toHaveBeenCalledTimes(1);
      const line = String(logged.mock.calls[0][0]);
      expect(line).toMatch(/^GET \/state\/data\?token=…&%74oken=… -> 500: TypeError: boom/);
      expect(line).not.toContain('c2lnbmF0dXJl');
    } finally {
      logged.mockRestore();
    }
  });
});

describe('AllExceptionsFilter: when to retry', () => {
  function replyTo(exception: unknown) {
    const headers: Record<string, string> = {};
    let status = 0;
    let sent: unknown;
    const reply = {
      status: (s: number) => ((status = s), reply),
      header: (name: string, value: string) => ((headers[name.toLowerCase()] = value), reply),
      send: (body: unknown) => ((sent = body), reply),
    };
    const http = { getRequest: () => ({ method: 'POST', url: '/x', id: 'req-1' }), getResponse: () => reply };
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    try {
      new AllExceptionsFilter().catch(exception, { switchToHttp: () => http } as unknown as ArgumentsHost);
    } finally {
      logged.mockRestore();
    }
    return { status, headers, body: sent as Record<string, unknown> };
  }

  it('sends the seconds a 429 names in Retry-After', () => {
    const res = replyTo(new DomainException(DomainErrorCode.RateLimited, 'too many sends', { limit: 'sends', retryAfter: 7 }));
    expect(res).toMatchObject({ status: 429, headers: { 'retry-after': '7' }, body: { statusCode: 429, error: 'Too Many Requests', code: 'RATE_LIMITED', retryAfter: 7 } });
  });

  it('gives every 503 a Retry-After, whatever its cause', () => {
    for (const exception of [
      new DomainException(DomainErrorCode.ShardUnavailable, 'down'),
      new DomainException(DomainErrorCode.RingUnavailable, 'stale'),
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    ]) {
      const res = replyTo(exception);
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toMatch(/^[1-9]\d*$/);
    }
    expect(replyTo(new DomainException(DomainErrorCode.DialogNotFound, 'no')).headers['retry-after']).toBeUndefined();
    expect(replyTo(new TypeError('bug')).headers['retry-after']).toBeUndefined();
  });
});
