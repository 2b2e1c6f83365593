import { DomainErrorCode, DomainException } from './domain.exception';

/**
 * Opaque page cursors: a versioned JSON tuple in base64url, so clients cannot build or
 * depend on them and the format can change without breaking old clients' first page.
 */
export function encodeCursor(kind: string, key: readonly string[]): string {
  return Buffer.from(JSON.stringify([1, kind, ...key]), 'utf8').toString('base64url');
}

/**
 * Returns the key for a cursor made by encodeCursor(kind, ...), or throws a 400. Each key
 * part must pass its own check: cursors come from clients, and a part the database cannot
 * read (a word as a timestamp, a non-UUID) would otherwise fail the query with a 500.
 */
export function decodeCursor(kind: string, cursor: string, parts: ReadonlyArray<(part: string) => boolean>): string[] {
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
    parsed.length !== parts.length + 2 ||
    parsed[0] !== 1 ||
    parsed[1] !== kind ||
    !parts.every((isValid, i) => typeof parsed[i + 2] === 'string' && isValid(parsed[i + 2]))
  ) {
    throw invalid();
  }
  return parsed.slice(2) as string[];
}

// What `timestamptz::text` prints under DateStyle ISO: an offset of whole hours, or with
// minutes (and seconds, for historic local mean times).
const PG_TIMESTAMPTZ = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?[+-](\d{2})(?::(\d{2})(?::(\d{2}))?)?$/;

/** True for a timestamp as Postgres prints a timestamptz as text, with every field in range. */
export function isPgTimestamptz(value: string): boolean {
  const m = PG_TIMESTAMPTZ.exec(value);
  if (!m) return false;
  const [year, month, day, hour, minute, second, offHours, offMinutes, offSeconds] = m.slice(1).map((field) => Number(field ?? 0));
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  return (
    year >= 1 &&
    days !== undefined &&
    day >= 1 &&
    day <= days &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59 &&
    offHours <= 15 &&
    offMinutes <= 59 &&
    offSeconds <= 59
  );
}
