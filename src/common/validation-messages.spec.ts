import 'reflect-metadata';
import Ajv from 'ajv';
import { ValidationPipe } from '@nestjs/common';
import { CreateDialogDto } from '../dialogs/dialog.dto';
import { RegisterShardDto, ReshardRequestDto } from '../reshard/reshard.dto';
import { DtoValidationPipe } from './dto-validation.pipe';
import { DomainErrorCode, DomainException } from './domain.exception';
import { ajvMessage, bodyShapeProblem, classValidatorMessage, describeProblems, Rank } from './validation-messages';

describe('describeProblems', () => {
  it('keeps the most basic problem of each property, in the order the properties came', () => {
    expect(
      describeProblems([
        { property: 'a', rank: Rank.Size, sentence: 'a is too long' },
        { property: 'b', rank: Rank.Form, sentence: 'b is odd' },
        { property: 'a', rank: Rank.Type, sentence: 'a must be a string' },
        { property: 'a', rank: Rank.Form, sentence: 'a is odd' },
      ]),
    ).toBe('a must be a string; b is odd');
  });

  it('names unknown properties in one sentence, with the allowed ones, before the rest', () => {
    expect(describeProblems([], ['spilt'], ['split', 'move', 'to'])).toBe('unknown property "spilt"; allowed: split, move, to');
    expect(describeProblems([{ property: 'x', rank: Rank.Required, sentence: 'x is required' }], ['a', 'b'], ['x'])).toBe(
      'unknown properties "a", "b"; allowed: x; x is required',
    );
    expect(describeProblems([], ['a'])).toBe('unknown property "a"; this body takes no properties');
  });
});

describe('bodyShapeProblem', () => {
  it.each([
    [undefined, 'the request needs a JSON object body, sent with Content-Type: application/json'],
    [null, 'the body must be a JSON object, not null'],
    [[1], 'the body must be a JSON object, not an array'],
    ['x', 'the body must be a JSON object, not a string'],
    [5, 'the body must be a JSON object, not a number'],
    [false, 'the body must be a JSON object, not a boolean'],
    [{}, null],
  ])('%j: %j', (body, problem) => {
    expect(bodyShapeProblem(body)).toBe(problem);
  });
});

describe('classValidatorMessage', () => {
  it('says a value of the wrong type is of the wrong type, and nothing about its size', () => {
    const errors = [
      {
        property: 'participantIds',
        value: 'x',
        constraints: {
          arrayMaxSize: 'participantIds must contain no more than 100 elements',
          arrayMinSize: 'participantIds must contain at least 1 elements',
          isArray: 'participantIds must be an array',
        },
      },
    ];
    expect(classValidatorMessage(errors)).toBe('participantIds must be an array');
  });

  it('says an absent property is required, whatever rules it fails', () => {
    expect(classValidatorMessage([{ property: 'name', value: undefined, constraints: { matches: 'bad name', isString: 'name must be a string' } }])).toBe(
      'name is required',
    );
  });

  it('names unknown properties with the allowed ones, and reaches nested properties', () => {
    expect(
      classValidatorMessage(
        [
          { property: 'spilt', value: 'a', constraints: { whitelistValidation: 'property spilt should not exist' } },
          { property: 'to', value: 'x', children: [{ property: 'y', value: 1, constraints: { isString: 'y must be a string' } }] },
        ],
        ['split', 'move', 'to'],
      ),
    ).toBe('unknown property "spilt"; allowed: split, move, to; y must be a string');
  });
});

describe('ajvMessage', () => {
  const ajv = new Ajv({ allErrors: true });
  const validate = ajv.compile({
    type: 'object',
    properties: { text: { type: 'string', minLength: 1, maxLength: 3, pattern: '\\S' }, n: { type: 'integer', minimum: 1, maximum: 9 }, k: { enum: ['a', 'b'] } },
    required: ['text'],
    additionalProperties: false,
  });
  const message = (value: unknown) => {
    expect(validate(value)).toBe(false);
    return ajvMessage(validate.errors ?? [], 'body', { 'text:pattern': 'text must not be blank' }, ['text', 'n', 'k']);
  };

  it.each([
    [{}, 'text is required'],
    [{ text: 5 }, 'text must be a string'],
    [{ text: '' }, 'text must not be empty'],
    [{ text: '  ' }, 'text must not be blank'],
    [{ text: 'abcd' }, 'text must be at most 3 characters long'],
    [{ text: 'a', n: 0 }, 'n must be at least 1'],
    [{ text: 'a', n: 10 }, 'n must be at most 9'],
    [{ text: 'a', n: 1.5 }, 'n must be an integer'],
    [{ text: 'a', k: 'c' }, 'k must be one of "a", "b"'],
    [{ text: 'a', spilt: 1 }, 'unknown property "spilt"; allowed: text, n, k'],
    [{ text: '', n: 'x', zz: 1 }, 'unknown property "zz"; allowed: text, n, k; text must not be empty; n must be an integer'],
    ['x', 'body must be an object'],
  ])('%j: %s', (value, expected) => {
    expect(message(value)).toBe(expected);
  });
});

describe('DtoValidationPipe', () => {
  const pipe = new DtoValidationPipe();
  const refusal = async (metatype: new () => object, value: unknown): Promise<string> => {
    try {
      await pipe.transform(value, { type: 'body', metatype });
    } catch (err) {
      expect(err).toBeInstanceOf(DomainException);
      expect((err as DomainException).code).toBe(DomainErrorCode.InvalidInput);
      return (err as Error).message;
    }
    throw new Error('accepted');
  };

  it('is a ValidationPipe, and passes what every DTO takes', async () => {
    expect(pipe).toBeInstanceOf(ValidationPipe);
    await expect(pipe.transform({ participantIds: ['bob'], title: 't' }, { type: 'body', metatype: CreateDialogDto })).resolves.toEqual({
      participantIds: ['bob'],
      title: 't',
    });
    await expect(pipe.transform({ split: 'shard-0' }, { type: 'body', metatype: ReshardRequestDto })).resolves.toEqual({ split: 'shard-0' });
  });

  it.each<[string, new () => object, unknown, string]>([
    ['participantIds as a string', CreateDialogDto, { participantIds: 'x' }, 'participantIds must be an array of user ids'],
    ['participantIds missing', CreateDialogDto, {}, 'participantIds is required'],
    ['a number among participantIds', CreateDialogDto, { participantIds: ['bob', 5] }, 'participantIds must hold user ids, which are strings'],
    ['a 65-character participant', CreateDialogDto, { participantIds: ['u'.repeat(65)] }, 'each participant id must be 1 to 64 characters with no control characters'],
    ['a title of the wrong type', CreateDialogDto, { participantIds: ['bob'], title: 5 }, 'title must be a string'],
    ['a title too long', CreateDialogDto, { participantIds: ['bob'], title: 't'.repeat(201) }, 'title must be shorter than or equal to 200 characters'],
    ['an unknown property', ReshardRequestDto, { spilt: 'shard-0' }, 'unknown property "spilt"; allowed: split, move, to'],
    ['a shard name of the wrong type', ReshardRequestDto, { split: 5 }, 'split must be a string'],
    ['a bad shard name', ReshardRequestDto, { split: 'Shard 0' }, 'shard names are 1 to 63 characters: lower-case letters, digits, - and _'],
    ['a shard with nothing', RegisterShardDto, {}, 'name is required; url is required'],
    ['a shard with a bad url', RegisterShardDto, { name: 'spare', url: 'http://x' }, 'url must be a postgres:// URL'],
    ['an array body', CreateDialogDto, [1, 2], 'the body must be a JSON object, not an array'],
    ['no body', CreateDialogDto, undefined, 'the request needs a JSON object body, sent with Content-Type: application/json'],
    ['a string body', ReshardRequestDto, 'split', 'the body must be a JSON object, not a string'],
  ])('%s', async (_name, metatype, value, expected) => {
    expect(await refusal(metatype, value)).toBe(expected);
  });
});
