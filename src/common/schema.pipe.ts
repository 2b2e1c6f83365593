import { PipeTransform } from '@nestjs/common';
import Ajv, { ErrorObject, SchemaObject, ValidateFunction } from 'ajv';
import { DomainErrorCode, DomainException } from './domain.exception';

// Types are never coerced by ajv: its number coercion let "Infinity" and "1e400" through
// an integer's bounds (the fuzz suite found it). Query values are converted below instead.
const ajv = new Ajv({ allErrors: true, coerceTypes: false, useDefaults: false });

// A query value stands for an integer only when written as one, in digits.
const INTEGER_TEXT = /^-?\d{1,15}$/;
// And for a boolean only when written exactly `true` or `false`: no `1`, `yes` or `TRUE`.
const booleanText = (text: string): boolean | string => (text === 'true' ? true : text === 'false' ? false : text);

/** Human-readable problems, one per failed rule, named by property as class-validator did. */
function describe(errors: ErrorObject[], where: string, messages: Record<string, string>): string {
  return errors
    .map((e) => {
      const property = e.instancePath.slice(1).replace(/\//g, '.');
      if (e.keyword === 'additionalProperties') return `property ${String(e.params.additionalProperty)} should not exist`;
      if (e.keyword === 'required') return `${String(e.params.missingProperty)} is required`;
      return messages[`${property}:${e.keyword}`] ?? `${property || where} ${e.message ?? 'is invalid'}`;
    })
    .join('; ');
}

/**
 * Validation by a JSON schema compiled once (ajv), for the routes every client calls many
 * times a second: class-validator and class-transformer walk a DTO's metadata on every
 * request, which profiling showed as the largest part of the service's own work on a page
 * read. The same schema documents the route (`@ApiBody({ schema })`, `@ApiQuery`). A refusal
 * is the usual 400 INVALID_INPUT.
 */
export class SchemaPipe<T> implements PipeTransform<unknown, T> {
  private readonly validate: ValidateFunction<T>;
  /** Query parameters the schema types as integers: their text is converted before validation. */
  private readonly integers: string[];
  /** Query parameters the schema types as booleans: `true` and `false` are converted before validation. */
  private readonly booleans: string[];

  constructor(
    schema: SchemaObject,
    private readonly where: 'body' | 'query',
    /** Wording for a rule whose default message says little, by `property:keyword`. */
    private readonly messages: Record<string, string> = {},
  ) {
    this.validate = ajv.compile<T>(schema);
    const properties = (schema.properties ?? {}) as Record<string, { type?: string }>;
    const typed = (type: string) => (where === 'query' ? Object.keys(properties).filter((name) => properties[name].type === type) : []);
    this.integers = typed('integer');
    this.booleans = typed('boolean');
  }

  transform(value: unknown): T {
    if ((this.integers.length || this.booleans.length) && typeof value === 'object' && value !== null) {
      const query = value as Record<string, unknown>;
      for (const name of this.integers) {
        const text = query[name];
        if (typeof text === 'string' && INTEGER_TEXT.test(text)) query[name] = Number(text);
      }
      for (const name of this.booleans) {
        const text = query[name];
        if (typeof text === 'string') query[name] = booleanText(text);
      }
    }
    if (this.validate(value)) return value;
    throw new DomainException(DomainErrorCode.InvalidInput, describe(this.validate.errors ?? [], this.where, this.messages));
  }
}
