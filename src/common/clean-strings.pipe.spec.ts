import { ArgumentMetadata } from '@nestjs/common';
import { CleanStringsPipe, stringProblem } from './clean-strings.pipe';
import { DomainErrorCode, DomainException } from './domain.exception';

describe('stringProblem', () => {
  it.each([
    ['plain text', 'hello'],
    ['a surrogate pair', 'ok \ud83d\ude00'],
    ['other control characters', 'tab\tnew\nline\u0001\u007f'],
    ['the replacement character itself', '\ufffd'],
    ['empty', ''],
  ])('accepts %s', (_name, value) => {
    expect(stringProblem(value)).toBeNull();
  });

  it.each([
    ['NUL', 'a\u0000b', /NUL/],
    ['a lone high surrogate', 'a\ud800', /well-formed/],
    ['a lone low surrogate', '\udc00b', /well-formed/],
    ['a pair in the wrong order', '\ude00\ud83d', /well-formed/],
  ])('refuses %s', (_name, value, why) => {
    expect(stringProblem(value)).toMatch(why);
  });
});

describe('CleanStringsPipe', () => {
  const sut = new CleanStringsPipe();
  const refusal = (value: unknown, metadata: ArgumentMetadata): DomainException => {
    try {
      sut.transform(value, metadata);
    } catch (err) {
      expect(err).toBeInstanceOf(DomainException);
      expect((err as DomainException).code).toBe(DomainErrorCode.InvalidInput);
      return err as DomainException;
    }
    throw new Error('expected a refusal');
  };

  it('passes clean input through unchanged', () => {
    const body = { text: 'hi \ud83d\ude00', participantIds: ['a', 'b'], n: 1, nested: { ok: [true, null] } };
    expect(sut.transform(body, { type: 'body' })).toBe(body);
    expect(sut.transform('bob', { type: 'param', data: 'userId' })).toBe('bob');
  });

  it('names the path param, query value or body field it refuses', () => {
    // A lone surrogate cannot arrive in a URL (invalid UTF-8 stays percent-encoded), but a
    // param is checked all the same, so the rule does not rest on the HTTP parser.
    expect(refusal('bob\ud800', { type: 'param', data: 'userId' }).message).toMatch(/^userId .*well-formed/);
    expect(refusal({ limit: '5', before: 'x\u0000' }, { type: 'query' }).message).toMatch(/^before .*NUL/);
    expect(refusal('t\u0000', { type: 'query', data: 'token' }).message).toMatch(/^token .*NUL/);
    expect(refusal({ participantIds: ['ok', 'b\udfff'] }, { type: 'body' }).message).toMatch(/^participantIds\[1\] .*well-formed/);
    expect(refusal({ a: { b: ['\u0000'] } }, { type: 'body' }).message).toMatch(/^a\.b\[0\] .*NUL/);
    expect(refusal('\u0000', { type: 'body' }).message).toMatch(/^body .*NUL/);
  });

  it('refuses property names too', () => {
    expect(refusal({ ['k\ud800']: 1 }, { type: 'body' }).message).toMatch(/property name .*well-formed/);
  });

  it('leaves custom decorators (the caller, the raw request) alone', () => {
    const user = { id: 'x\u0000' };
    expect(sut.transform(user, { type: 'custom' })).toBe(user);
  });
});
