import { DomainErrorCode, DomainException } from './domain.exception';

/**
 * Opaque page cursors: a versioned JSON tuple in base64url, so clients cannot build or
 * depend on them and the format can change without breaking old clients' first page.
 */
export function encodeCursor(kind: string, key: readonly string[]): string {
  return Buffer.from(JSON.stringify([1, kind, ...key]), 'utf8').toString('base64url');
}

/** Returns the key for a cursor made by encodeCursor(kind, ...), or throws a 400. */
export function decodeCursor(kind: string, cursor: string, arity: number): string[] {
  const invalid = () => new DomainException(DomainErrorCode.InvalidCursor, 'cursor is not valid for this listing');
  if (!/^[A-Za-z0-9_-]{1,512}$/.test(cursor)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== arity + 2 ||
    parsed[0] !== 1 ||
    parsed[1] !== kind ||
    !parsed.slice(2).every((part) => typeof part === 'string')
  ) {
    throw invalid();
  }
  return parsed.slice(2) as string[];
}
