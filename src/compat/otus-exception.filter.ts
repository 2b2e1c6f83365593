import { Catch } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AllExceptionsFilter, ErrorBody } from '../common/all-exceptions.filter';

/**
 * The OTUS spec's 5xx body is `{ message, request_id, code }` with an integer `code`. Ours
 * keeps the service's usual fields beside those, so one client parser reads both APIs: the
 * integer `code` is the HTTP status, and the service's own error code moves to `reason`.
 * Its 4xx have no body schema, so they keep the usual shape.
 */
@Catch()
export class OtusExceptionFilter extends AllExceptionsFilter {
  protected override present(body: ErrorBody, request: FastifyRequest): object {
    if (body.statusCode < 500) return body;
    const { code, ...rest } = body;
    return { ...rest, request_id: String(request.id), code: body.statusCode, ...(code === undefined ? {} : { reason: code }) };
  }
}
