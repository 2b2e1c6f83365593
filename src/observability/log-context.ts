import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

/**
 * Fields the message path adds to its request's log line, kept on the raw request where the
 * access log (an onResponse hook) reads them once the response is done.
 */
export interface LogContext {
  dialogId?: string;
  shard?: string;
}

export const RequestLog = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): LogContext => ctx.switchToHttp().getRequest<FastifyRequest>().raw as LogContext,
);
