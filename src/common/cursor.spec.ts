import { decodeCursor, encodeCursor } from './cursor';
import { DomainErrorCode, DomainException } from './domain.exception';

describe('cursor codec', () => {
  it('round-trips a key', () => {
    const sut = encodeCursor('messages', ['0190f2c4-0000-7000-8000-000000000001']);
    expect(decodeCursor('messages', sut, 1)).toEqual(['0190f2c4-0000-7000-8000-000000000001']);
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
    ['empty', ''],
    ['too long', 'a'.repeat(600)],
  ])('rejects %s with INVALID_CURSOR', (_name, cursor) => {
    let caught: unknown;
    try {
      decodeCursor('messages', cursor, 1);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DomainException);
    expect((caught as DomainException).code).toBe(DomainErrorCode.InvalidCursor);
  });
});
