import { BadRequestException, Injectable, PipeTransform } from '@nestjs/common';
import { isUserId } from './token.service';

@Injectable()
export class UserIdPipe implements PipeTransform<unknown, string> {
  transform(value: unknown): string {
    if (!isUserId(value)) throw new BadRequestException('user id must be 1 to 64 characters of well-formed Unicode with no control characters');
    return value;
  }
}
