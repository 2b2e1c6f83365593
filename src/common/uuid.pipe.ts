import { BadRequestException, Injectable, PipeTransform } from '@nestjs/common';

/** Any UUID, either case, as a JSON schema `pattern` (which takes no flags) can say it too. */
export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
const UUID = new RegExp(UUID_PATTERN);

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/** Accepts any UUID and returns its canonical lower-case form, which is what the ring hashes. */
@Injectable()
export class UuidPipe implements PipeTransform<unknown, string> {
  constructor(private readonly what = 'id') {}

  transform(value: unknown): string {
    if (!isUuid(value)) throw new BadRequestException(`${this.what} must be a UUID`);
    return value.toLowerCase();
  }
}
