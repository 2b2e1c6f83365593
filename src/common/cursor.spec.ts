import { decodeCursor, encodeCursor, isPgTimestamptz } from './cursor';
import { DomainErrorCode, DomainException } from './domain.exception';

describe('cursor codec', () => {
  const anyString = () => true;

  it('round-trips a key', () => {
    const sut = encodeCursor('messages', ['0190f2c4-0000-7000-8000-000000000001']);
    expect(decodeCursor('messages', sut, [anyString])).toEqual(['0190f2c4-0000-7000-8000-000000000001']);
  });

  it('is opaque url-safe text', () => {
    expect(encodeCursor('dialogs', ['2026-11-22 10:00:00.123456+00', 'x'])).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it.each([
    ['garbage', 'not a cursor!'],
    ['valid base64 of non-JSON', Buffer.from('hello').toString('base64url')],
    ['a cursor of another listing', encodeCursor('dialogs', ['a'])],
    ['wrong arity', encodeCursor('messages', ['a', 'b'])],
    ['a future version', Buffer.from(JSON.stringify([2, 'messages', 'a'])).toString('base64url')],
    ['non-string key parts', Buffer.from(JSON.stringify([1, 'messages', 5])).toString('base64url')],
    ['a part its check refuses', encodeCursor('messages', ['bad'])],
    ['empty', ''],
    ['too long', 'a'.repeat(600)],
  ])('rejects %s with INVALID_CURSOR', (_name, cursor) => {
    let caught: unknown;
    try {
      decodeCursor('messages', cursor, [(part) => part !== 'bad']);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DomainException);
    expect((caught as DomainException).code).toBe(DomainErrorCode.InvalidCursor);
  });
});

describe('isPgTimestamptz', () => {
  it.each([
    '2026-11-22 10:00:00.123456+00',
    '2026-11-22 10:00:00+00',
    '2024-02-29 23:59:59.5-11',
    '2026-11-22 15:30:00+05:30',
    '1901-12-13 20:45:52-00:09:21',
  ])('accepts %s', (value) => {
    expect(isPgTimestamptz(value)).toBe(true);
  });

  it.each([
    'yesterday',
    '2026-11-22T10:00:00Z',
    '2026-11-22 10:00:00',
    '2026-13-01 00:00:00+00',
    '2026-00-01 00:00:00+00',
    '2026-02-29 00:00:00+00',
    '2100-02-29 00:00:00+00',
    '2026-04-31 00:00:00+00',
    '2026-01-00 00:00:00+00',
    '2026-01-01 24:00:00+00',
    '2026-01-01 00:60:00+00',
    '2026-01-01 00:00:60+00',
    '2026-01-01 00:00:00+99',
    '2026-01-01 00:00:00+05:60',
    '0000-01-01 00:00:00+00',
    '2026-01-01 00:00:00.1234567+00',
    '2026-01-01 00:00:00+00\u0000',
    '\uff12026-01-01 00:00:00+00',
  ])('refuses %s', (value) => {
    expect(isPgTimestamptz(value)).toBe(false);
  });
});
