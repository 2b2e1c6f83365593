import { LoggerService } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import pino, { Logger } from 'pino';
import SonicBoom from 'sonic-boom';

// Stdout is written in chunks of at least this many bytes, and at least once a second.
const LOG_CHUNK_BYTES = 8 * 1024;
const LOG_FLUSH_MS = 1000;
// A reader that stops reading (a full pipe) is retried every 100 ms this many times before
// a write gives up: 5 s, after which the service goes on without its stdout.
const LOG_WRITE_RETRIES = 50;

/**
 * JSON lines on stdout, or on `destination` (tests read what the service logs there).
 * Stdout is written asynchronously in chunks: a write per request line cost the event loop
 * a syscall (and a wake-up of the thread doing it) per request, which the profile of a busy
 * instance showed among its largest costs. A line waits at most a second; what is left is
 * flushed synchronously when the process exits, so only a SIGKILL loses the last second of
 * lines.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options = { level, base: { pid: process.pid }, redact: ['headers.authorization', 'headers.cookie'] };
  return pino(options, destination ?? stdoutSink());
}

/**
 * Stdout that can go away without taking the service with it. Its reader dies first when
 * the log is piped (`npm start | tee log`, `| pino-pretty`) and a terminal's Ctrl-C reaches
 * the whole pipeline, or when the terminal itself closes. The sonic-boom pino brings retries
 * a failed synchronous write for ever (the exit flush then blocked the process in a sleep
 * that no signal interrupts); sonic-boom 5 gives up on an error or after its retries, and
 * from the first error on, lines are dropped here.
 */
function stdoutSink(): pino.DestinationStream & { flushSync(): void } {
  const out = new SonicBoom({
    fd: 1,
    sync: false,
    minLength: LOG_CHUNK_BYTES,
    periodicFlush: LOG_FLUSH_MS,
    maxWriteRetries: LOG_WRITE_RETRIES,
  } as ConstructorParameters<typeof SonicBoom>[0]);
  let gone = false;
  out.on('error', () => {
    gone = true;
  });
  const sink = {
    write(line: string) {
      if (!gone) out.write(line);
    },
    flushSync() {
      if (gone) return;
      try {
        out.flushSync();
      } catch {
        gone = true;
      }
    },
  };
  process.once('exit', () => sink.flushSync());
  return sink;
}

/**
 * Writes out what the logger has buffered before this returns. After start-up: the lines
 * saying the service is up must be out before it answers its first request (whoever started
 * it may read them as soon as it answers), and no request is served before this returns.
 */
export function flushLogSync(logger: Logger): void {
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as { flushSync?: () => void } | undefined;
  stream?.flushSync?.();
}

// A query parameter whose name mentions a token carries a credential (the state page's
// `?token=`; a client's `access_token`), and so does any value shaped like a JWT, whatever
// its name.
const SECRET_KEY = /token/i;
const MASKED = '…';

/**
 * JWT-shaped: base64url segments joined by dots, two of them in a row at least 8 long and
 * followed by a third (the signature). Checked by splitting, in linear time: a backtracking
 * regex took most of a second on a 16 KB URL, which any client could send.
 */
function isJwtLike(run: string): boolean {
  const parts = run.split('.');
  for (let i = 0; i + 2 < parts.length; i++) {
    if (parts[i].length >= 8 && parts[i + 1].length >= 8) return true;
  }
  return false;
}

/** `text` with each JWT-shaped run of base64url characters and dots replaced. */
function maskJwts(text: string): string {
  // A JWT has two dots; most URLs (ids are UUIDs) have none, and skip the scan.
  if (!text.includes('.')) return text;
  return text.replace(/[\w.-]+/g, (run) => (isJwtLike(run) ? MASKED : run));
}

/** decodeURIComponent until nothing changes (a few rounds at most), never throwing. */
function decodeFully(text: string): string {
  let current = text.replace(/\+/g, ' ');
  for (let round = 0; round < 4 && current.includes('%'); round++) {
    try {
      const next = decodeURIComponent(current);
      if (next === current) break;
      current = next;
    } catch {
      break;
    }
  }
  return current;
}

/**
 * The request URL as it may be logged: credentials masked wherever they sit in the query.
 * A regex over the raw URL missed a second `token=` and a percent-encoded name
 * (`%74oken=`), which Fastify decodes to `token`; so the query is split and decoded the
 * way Fastify parses it (from the first `?` or `#`, pairs on `&`, the name up to the
 * first `=`), and a pair is masked by what it decodes to.
 */
export function maskUrl(url: string): string {
  const start = url.search(/[?#]/);
  const path = start === -1 ? url : url.slice(0, start);
  const maskedPath = maskJwts(path);
  if (start === -1) return maskedPath;
  const hasJwt = (text: string) => maskJwts(text) !== text;
  const pairs = url
    .slice(start + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq === -1 ? pair : pair.slice(0, eq);
      const decodedName = decodeFully(name);
      if (hasJwt(decodedName)) return MASKED;
      if (eq === -1) return pair;
      return SECRET_KEY.test(decodedName) || hasJwt(decodeFully(pair.slice(eq + 1))) ? `${name}=${MASKED}` : pair;
    });
  return `${maskedPath}${url[start]}${pairs.join('&')}`;
}

/** The caller's X-Request-Id when it is sane, else a new one; echoed back on the response. */
export function requestId(req: IncomingMessage | Http2ServerRequest): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && /^[\w.-]{1,128}$/.test(given) ? given : randomUUID();
}

/**
 * Nest's account of its own wiring: a line per module initialised and per route mapped,
 * some fifty at every start, above the few an operator reads (the instance id, the ring it
 * serves, where it listens). They are debug lines.
 */
const NEST_WIRING = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer']);

/** Nest's own messages (start-up, reshard phases, warnings) as the same JSON lines, with their context. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, context?: string): void {
    if (context !== undefined && NEST_WIRING.has(context)) this.logger.debug({ context }, String(message));
    else this.logger.info({ context }, String(message));
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
