import { ArgumentMetadata, Injectable, PipeTransform } from '@nestjs/common';
import { DomainErrorCode, DomainException } from './domain.exception';

/**
 * Why a string cannot be stored as it is, or null when it can. Postgres text cannot hold
 * NUL (the insert fails), and the driver writes an unpaired UTF-16 surrogate as U+FFFD, so
 * two different strings (two token subjects, say) would be stored as the same one.
 */
export function stringProblem(value: string): string | null {
  if (value.includes('\u0000')) return 'must not contain NUL (\\u0000) characters';
  if (!value.isWellFormed()) return 'must be well-formed Unicode (no unpaired UTF-16 surrogates)';
  return null;
}

export function isCleanString(value: string): boolean {
  return stringProblem(value) === null;
}

/**
 * Runs before validation on every body, query and path value, so no route or DTO can
 * forget the rule: a string that Postgres would refuse or silently change is a 400 here,
 * property names included. Bodies are already depth-limited by the JSON parser.
 */
@Injectable()
export class CleanStringsPipe implements PipeTransform {
  transform(value: unknown, { type, data }: ArgumentMetadata): unknown {
    // Custom decorators hand over the caller or the raw request: not input to check.
    if (type !== 'body' && type !== 'query' && type !== 'param') return value;
    const pending: Array<[unknown, string]> = [[value, data ?? '']];
    while (pending.length) {
      const [item, path] = pending.pop()!;
      if (typeof item === 'string') {
        const problem = stringProblem(item);
        if (problem) throw new DomainException(DomainErrorCode.InvalidInput, `${path || type} ${problem}`);
      } else if (Array.isArray(item)) {
        item.forEach((element, i) => pending.push([element, `${path}[${i}]`]));
      } else if (typeof item === 'object' && item !== null) {
        for (const [key, element] of Object.entries(item)) {
          const problem = stringProblem(key);
          if (problem) throw new DomainException(DomainErrorCode.InvalidInput, `a property name ${problem}`);
          pending.push([element, path ? `${path}.${key}` : key]);
        }
      }
    }
    return value;
  }
}
