import { DomainErrorCode, DomainException } from './domain.exception';
import { pageQueryPipe } from './page-query.dto';
import { messageTextPipe, sendMessagePipe } from '../messages/message.dto';
import { dialogListQueryPipe } from '../dialogs/dialog.dto';

describe('SchemaPipe', () => {
  const refusal = (fn: () => unknown): string => {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(DomainException);
      expect((err as DomainException).code).toBe(DomainErrorCode.InvalidInput);
      return (err as Error).message;
    }
    throw new Error('accepted');
  };

  describe('a page query', () => {
    const pipe = pageQueryPipe();

    it('takes a limit written in digits, within bounds, and a cursor', () => {
      expect(pipe.transform({ limit: '5', before: 'abc' })).toEqual({ limit: 5, before: 'abc' });
      expect(pipe.transform({ limit: '200' })).toEqual({ limit: 200 });
      expect(pipe.transform({})).toEqual({});
    });

    it.each(['Infinity', '-Infinity', '1e400', '1e2', '5.0', ' 5', '', 'abc', '0x10', '9'.repeat(30)])('refuses limit=%j', (limit) => {
      expect(refusal(() => pipe.transform({ limit }))).toMatch(/^limit /);
    });

    it('refuses out-of-range limits, a repeated limit, unknown parameters and an empty cursor, naming each', () => {
      expect(refusal(() => pipe.transform({ limit: '0' }))).toBe('limit must be at least 1');
      expect(refusal(() => pipe.transform({ limit: '201' }))).toBe('limit must be at most 200');
      expect(refusal(() => pipe.transform({ limit: ['1', '2'] }))).toBe('limit must be an integer');
      expect(refusal(() => pipe.transform({ foo: '1', before: '' }))).toBe('unknown property "foo"; allowed: limit, before; before must not be empty');
    });
  });

  describe('the dialog list query', () => {
    const pipe = dialogListQueryPipe();

    it('takes summary written exactly true or false, beside a page', () => {
      expect(pipe.transform({ summary: 'false' })).toEqual({ summary: false });
      expect(pipe.transform({ summary: 'true', limit: '5', before: 'abc' })).toEqual({ summary: true, limit: 5, before: 'abc' });
      expect(pipe.transform({})).toEqual({});
    });

    it.each(['TRUE', 'False', '1', '0', 'yes', '', ' false', 'false ', 'constructor', 'null'])('refuses summary=%j', (summary) => {
      expect(refusal(() => pipe.transform({ summary }))).toBe('summary must be true or false');
    });

    it('refuses a repeated summary, and still refuses what a page query refuses', () => {
      expect(refusal(() => pipe.transform({ summary: ['true', 'false'] }))).toBe('summary must be true or false');
      expect(refusal(() => pipe.transform({ limit: '0', summary: 'false', foo: '1' }))).toBe('unknown property "foo"; allowed: limit, before, summary; limit must be at least 1');
    });
  });

  describe('a send body', () => {
    const pipe = sendMessagePipe();

    it('takes a text and an optional clientMessageId', () => {
      expect(pipe.transform({ text: 'hi' })).toEqual({ text: 'hi' });
      expect(pipe.transform({ text: 'hi', clientMessageId: 'k' })).toEqual({ text: 'hi', clientMessageId: 'k' });
    });

    it('never converts types: a number is not a text', () => {
      expect(refusal(() => pipe.transform({ text: 5 }))).toBe('text must be a string');
      expect(refusal(() => pipe.transform({ text: 'x', clientMessageId: 7 }))).toBe('clientMessageId must be a string');
    });

    it('says one thing per property: empty text is empty, not also blank', () => {
      expect(refusal(() => pipe.transform({ text: '' }))).toBe('text must not be empty');
      expect(refusal(() => pipe.transform({ text: '', clientMessageId: 5, extra: 1, more: 2 }))).toBe(
        'unknown properties "extra", "more"; allowed: text, clientMessageId; text must not be empty; clientMessageId must be a string',
      );
    });

    it('refuses blank, missing, too long and unknown fields, and a body that is not an object', () => {
      expect(refusal(() => pipe.transform({ text: ' \n\t' }))).toBe('text must not be blank');
      expect(refusal(() => pipe.transform({}))).toBe('text is required');
      expect(refusal(() => pipe.transform({ text: 'x'.repeat(4097) }))).toBe('text must be at most 4096 characters long');
      expect(refusal(() => pipe.transform({ text: 'x', extra: 1 }))).toBe('unknown property "extra"; allowed: text, clientMessageId');
      expect(refusal(() => pipe.transform(undefined))).toBe('the request needs a JSON object body, sent with Content-Type: application/json');
      expect(refusal(() => pipe.transform(null))).toBe('the body must be a JSON object, not null');
      expect(refusal(() => pipe.transform('text'))).toBe('the body must be a JSON object, not a string');
      expect(refusal(() => pipe.transform([1]))).toBe('the body must be a JSON object, not an array');
    });
  });

  describe('an edit body, and the OTUS send', () => {
    const pipe = messageTextPipe();

    it('takes a text alone', () => {
      expect(pipe.transform({ text: 'hi' })).toEqual({ text: 'hi' });
      expect(refusal(() => pipe.transform({ text: 'hi', clientMessageId: 'k' }))).toBe('unknown property "clientMessageId"; allowed: text');
      expect(refusal(() => pipe.transform({}))).toBe('text is required');
    });

    it.each([
      ['empty', ''],
      ['blank', ' \n\t'],
      ['4097 characters of', 'x'.repeat(4097)],
      ['a number as', 5],
      ['null as', null],
    ])('refuses %s text as a send does, in the same words', (_name, text) => {
      const sent = refusal(() => sendMessagePipe().transform({ text }));
      expect(refusal(() => pipe.transform({ text }))).toBe(sent);
    });
  });
});
