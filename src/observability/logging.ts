import { LoggerService } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import pino, { Logger } from 'pino';

export function createLogger(level: string): Logger {
  return pino({ level, base: { pid: process.pid }, redact: ['headers.authorization', 'headers.cookie'] });
}

/** The caller's X-Request-Id when it is sane, else a new one; echoed back on the response. */
export function requestId(req: IncomingMessage | Http2ServerRequest): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && /^[\w.-]{1,128}$/.test(given) ? given : randomUUID();
}

/** Nest's own messages (start-up, reshard phases, warnings) as the same JSON lines, with their context. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, context?: string): void {
    this.logger.info({ context }, String(message));
  }

  error(message: unknown, trace?: string, context?: string): void {
    this.logger.error({ context, trace }, String(message));
  }

  warn(message: unknown, context?: string): void {
    this.logger.warn({ context }, String(message));
  }

  debug(message: unknown, context?: string): void {
    this.logger.debug({ context }, String(message));
  }

  verbose(message: unknown, context?: string): void {
    this.logger.trace({ context }, String(message));
  }
}

/** The same JSON lines for what happens before the application exists (embedded servers, migrations). */
export function startupLogger(logger: Logger, context: string): { log(message: string): void } {
  return { log: (message: string) => logger.info({ context }, message) };
}
