import { BadRequestException, Injectable, PipeTransform } from '@nestjs/common';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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
