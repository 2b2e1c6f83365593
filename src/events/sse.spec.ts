import { createParser, EventSourceMessage } from 'eventsource-parser';
import { parseLastEventId, sseComment, sseEvent, sseRetry } from './sse';

/** What a spec-following client (eventsource-parser, as EventSource reads) makes of the text. */
function parse(text: string): { events: EventSourceMessage[]; comments: string[]; retry: number[] } {
  const out = { events: [] as EventSourceMessage[], comments: [] as string[], retry: [] as number[] };
  const parser = createParser({ onEvent: (e) => out.events.push(e), onComment: (c) => out.comments.push(c.trim()), onRetry: (r) => out.retry.push(r) });
  parser.feed(text);
  return out;
}

describe('SSE formatting', () => {
  it('writes an event with its id, name and JSON data, as a client reads it back', () => {
    const data = JSON.stringify({ text: 'two\nlines', emoji: '😀', sep: '\u2028' });
    expect(sseEvent('message.created', data, 42)).toBe(`id: 42\nevent: message.created\ndata: ${data}\n\n`);
    expect(parse(sseEvent('message.created', data, 42)).events).toEqual([{ id: '42', event: 'message.created', data }]);
  });

  it('keeps data with line breaks whole, whichever the break', () => {
    for (const data of ['a\nb', 'a\r\nb', 'a\rb', 'a\n\nb', '\n', '']) {
      const [event] = parse(sseEvent('x', data)).events;
      expect(event.data).toBe(data.replace(/\r\n|\r/g, '\n'));
      expect(event.id).toBeUndefined();
    }
  });

  it('writes comments and the retry delay, which carry no event', () => {
    const out = parse(sseComment('ping') + sseComment('a\nb') + sseRetry(2000));
    expect(out).toEqual({ events: [], comments: ['ping', 'a b'], retry: [2000] });
  });
});

describe('parseLastEventId', () => {
  it.each([
    [undefined, undefined],
    ['', undefined],
    ['0', 0],
    ['123', 123],
    ['9007199254740991', 9007199254740991],
  ])('reads %j as %j', (input, expected) => expect(parseLastEventId(input)).toBe(expected));

  it.each(['-1', '1.5', '1e3', ' 1', 'abc', '0x10', '9007199254740992', '99999999999999999'])('refuses %j', (input) => {
    expect(parseLastEventId(input)).toBeNull();
  });

  it('refuses a value given twice (an array)', () => expect(parseLastEventId(['1', '2'])).toBeNull());
});
