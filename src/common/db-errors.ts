import { DatabaseError } from 'pg';
import { DomainErrorCode, DomainException } from './domain.exception';

const CONNECTION_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE']);
// 57P01..57P03: the server is shutting down or starting; class 08: the connection broke.
/** A lock not granted within the statement's lock_timeout. */
export const LOCK_NOT_AVAILABLE = '55P03';
/** A row a unique index already holds. */
export const UNIQUE_VIOLATION = '23505';

const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);

/**
 * True when the error says "the database cannot be reached right now" rather than
 * "the query was wrong", so the caller answers 503 instead of 500.
 */
export function isConnectionError(err: unknown): boolean {
  // Duck-typed: errors from Node's net module may come from another realm (jest's vm).
  if (typeof err !== 'object' || err === null || typeof (err as Error).message !== 'string') return false;
  const e = err as Error & { code?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code && (CONNECTION_ERRNOS.has(code) || UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08'))) {
    return true;
  }
  if (code === '57014' && /statement timeout/.test(e.message)) return true;
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error/i.test(
    e.message,
  );
}

/** An error the server answered a statement with (a constraint, a refusal), not a lost connection. */
export function isStatementError(err: unknown): err is DatabaseError {
  return err instanceof DatabaseError;
}

/** Runs a database call and turns "cannot reach it" into a clean 503 naming the database. */
export async function withAvailability<T>(
  code: DomainErrorCode.ShardUnavailable | DomainErrorCode.DialogDbUnavailable,
  name: string,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isConnectionError(err)) {
      const what = code === DomainErrorCode.ShardUnavailable ? `shard ${name}` : name;
      throw new DomainException(code, `${what} is unavailable, try again shortly`, { database: name });
    }
    throw err;
  }
}
