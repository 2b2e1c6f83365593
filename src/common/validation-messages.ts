import type { ErrorObject } from 'ajv';

/**
 * The one wording of a refused input, whichever validator refused it (class-validator for
 * DTO classes, ajv for compiled schemas): one sentence per wrong property, the most basic
 * problem first. A value of the wrong type also fails every size and pattern rule of its
 * property, and listing those beside the type ("must contain at least 1 elements; must be
 * an array") told the client three contradictory things. Pure: no Nest, no I/O.
 */

/** How basic a problem is: only the most basic of a property's problems is reported. */
export enum Rank {
  Required = 0,
  Type = 1,
  Size = 2,
  Form = 3,
}

export interface Problem {
  /** The property's path (`title`, `participantIds`, `a.b`); empty for the value as a whole. */
  property: string;
  rank: Rank;
  sentence: string;
}

/** A class-validator error, as much of it as the wording needs. */
export interface FieldError {
  property: string;
  value?: unknown;
  constraints?: Record<string, string>;
  children?: FieldError[];
}

/** What a route needs and did not get: a JSON object, sent as JSON. */
export const BODY_REQUIRED = 'the request needs a JSON object body, sent with Content-Type: application/json';

/** Why a body is not the JSON object every body-taking route expects, or null when it is one. */
export function bodyShapeProblem(body: unknown): string | null {
  if (body === undefined) return BODY_REQUIRED;
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) return null;
  return `the body must be a JSON object, not ${jsonKind(body)}`;
}

function jsonKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return 'a number';
  if (typeof value === 'boolean') return 'a boolean';
  return typeof value;
}

/**
 * The sentences for a refused input: every unknown property in one sentence that names the
 * allowed ones, then the most basic problem of each other property, in the order they came.
 */
export function describeProblems(problems: Problem[], unknown: string[] = [], allowed: string[] = []): string {
  const sentences: string[] = [];
  if (unknown.length) {
    const names = unknown.map((name) => JSON.stringify(name)).join(', ');
    const known = allowed.length ? `; allowed: ${allowed.join(', ')}` : '; this body takes no properties';
    sentences.push(`unknown ${unknown.length === 1 ? 'property' : 'properties'} ${names}${known}`);
  }
  const first = new Map<string, Problem>();
  for (const problem of problems) {
    const seen = first.get(problem.property);
    if (!seen || problem.rank < seen.rank) first.set(problem.property, problem);
  }
  sentences.push(...[...first.values()].map((p) => p.sentence));
  return sentences.join('; ') || 'the input is invalid';
}

// class-validator's constraint names, by rank; any other constraint is about the value's form.
const CLASS_VALIDATOR_RANKS: Record<string, Rank> = {
  isDefined: Rank.Required,
  isArray: Rank.Type,
  isString: Rank.Type,
  isInt: Rank.Type,
  isNumber: Rank.Type,
  isBoolean: Rank.Type,
  isObject: Rank.Type,
  arrayMinSize: Rank.Size,
  arrayMaxSize: Rank.Size,
  arrayNotEmpty: Rank.Size,
  minLength: Rank.Size,
  maxLength: Rank.Size,
  isNotEmpty: Rank.Size,
  min: Rank.Size,
  max: Rank.Size,
};

/**
 * class-validator's errors as one sentence per property. `allowed` names the DTO's
 * properties, for the sentence about unknown ones (forbidNonWhitelisted).
 */
export function classValidatorMessage(errors: FieldError[], allowed: string[] = []): string {
  const problems: Problem[] = [];
  const unknown: string[] = [];
  const walk = (list: FieldError[], prefix: string) => {
    for (const error of list) {
      const property = prefix ? `${prefix}.${error.property}` : error.property;
      const constraints = error.constraints ?? {};
      if ('whitelistValidation' in constraints) {
        unknown.push(property);
        continue;
      }
      // An optional property that is absent is never validated, so an absent one here is required.
      if (error.value === undefined) {
        problems.push({ property, rank: Rank.Required, sentence: `${property} is required` });
      }
      for (const [name, sentence] of Object.entries(constraints)) {
        problems.push({ property, rank: CLASS_VALIDATOR_RANKS[name] ?? Rank.Form, sentence });
      }
      if (error.children?.length) walk(error.children, property);
    }
  };
  walk(errors, '');
  return describeProblems(problems, unknown, allowed);
}

const AJV_RANKS: Record<string, Rank> = {
  required: Rank.Required,
  type: Rank.Type,
  minLength: Rank.Size,
  maxLength: Rank.Size,
  minimum: Rank.Size,
  maximum: Rank.Size,
  minItems: Rank.Size,
  maxItems: Rank.Size,
};

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'a boolean',
  object: 'an object',
  array: 'an array',
  null: 'null',
};

/** ajv's default wording says little ("must NOT have fewer than 1 characters"); this says it plainly. */
function ajvSentence(e: ErrorObject, property: string): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'type': {
      const types = String(p.type).split(',');
      return `${property} must be ${types.map((t) => TYPE_NAMES[t] ?? t).join(' or ')}`;
    }
    case 'minLength':
      return p.limit === 1 ? `${property} must not be empty` : `${property} must be at least ${String(p.limit)} characters long`;
    case 'maxLength':
      return `${property} must be at most ${String(p.limit)} characters long`;
    case 'minimum':
      return `${property} must be at least ${String(p.limit)}`;
    case 'maximum':
      return `${property} must be at most ${String(p.limit)}`;
    case 'enum':
      return `${property} must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return `${property} ${e.message ?? 'is invalid'}`;
  }
}

/**
 * ajv's errors (compiled with allErrors) as one sentence per property. `where` names the
 * value as a whole (`body`, `query`); `messages` words a rule by `property:keyword`;
 * `allowed` names the schema's properties, for the sentence about unknown ones.
 */
export function ajvMessage(errors: ErrorObject[], where: string, messages: Record<string, string> = {}, allowed: string[] = []): string {
  const problems: Problem[] = [];
  const unknown: string[] = [];
  for (const e of errors) {
    const path = e.instancePath.slice(1).replace(/\//g, '.');
    if (e.keyword === 'additionalProperties') {
      const name = String((e.params as { additionalProperty: unknown }).additionalProperty);
      unknown.push(path ? `${path}.${name}` : name);
      continue;
    }
    if (e.keyword === 'required') {
      const missing = String((e.params as { missingProperty: unknown }).missingProperty);
      const property = path ? `${path}.${missing}` : missing;
      problems.push({ property, rank: Rank.Required, sentence: `${property} is required` });
      continue;
    }
    const sentence = messages[`${path}:${e.keyword}`] ?? ajvSentence(e, path || where);
    problems.push({ property: path, rank: AJV_RANKS[e.keyword] ?? Rank.Form, sentence });
  }
  return describeProblems(problems, unknown, allowed);
}
