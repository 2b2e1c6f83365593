/**
 * The text/event-stream wire format (WHATWG HTML, "Server-sent events"). Pure functions: the
 * stream writes what these return.
 */

/**
 * One event: `id`, `event` and one `data:` line per line of `data`. A line break inside data
 * would otherwise end the field early; JSON from JSON.stringify has none, other text may.
 */
export function sseEvent(type: string, data: string, id?: number): string {
  const head = `${id === undefined ? '' : `id: ${id}\n`}event: ${type}\n`;
  return `${head}data: ${data.split(/\r\n|\r|\n/).join('\ndata: ')}\n\n`;
}

/** A comment line: clients ignore it, proxies see bytes flowing. */
export function sseComment(text: string): string {
  return `: ${text.replace(/\r\n|\r|\n/g, ' ')}\n\n`;
}

/** How long a client waits before it reconnects, in ms. */
export function sseRetry(ms: number): string {
  return `retry: ${ms}\n\n`;
}

/** The largest event id a client may send back: ids are a bigint sequence, read as JS numbers. */
const MAX_ID = Number.MAX_SAFE_INTEGER;

/**
 * A `Last-Event-ID` as this service issues them (a decimal integer), or null for anything
 * else; undefined when none was sent. An empty value is "none", as an EventSource that has
 * seen no id sends nothing.
 */
export function parseLastEventId(value: unknown): number | null | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !/^\d{1,16}$/.test(value)) return null;
  const id = Number(value);
  return id <= MAX_ID ? id : null;
}
