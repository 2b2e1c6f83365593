import { applyDecorators, UseGuards } from '@nestjs/common';
import { ApiTooManyRequestsResponse } from '@nestjs/swagger';
import { RETRY_AFTER_HEADER } from '../common/retry-after';
import { SendLimitGuard } from './send-limit.guard';

/** A route that sends a message: the per-user send limit applies, and the document says so. */
export function SendLimited(): MethodDecorator {
  return applyDecorators(
    UseGuards(SendLimitGuard),
    ApiTooManyRequestsResponse({
      description: 'RATE_LIMITED: this user sent more than RATE_LIMIT_SENDS_PER_MIN allows; Retry-After says when to try again',
      headers: RETRY_AFTER_HEADER,
    }),
  );
}

/** A route that may create a dialog, which DialogsService counts against the per-user dialog limit. */
export function ApiDialogLimit(): MethodDecorator {
  return ApiTooManyRequestsResponse({
    description: 'RATE_LIMITED: this user created more dialogs than RATE_LIMIT_DIALOGS_PER_MIN allows; Retry-After says when to try again',
    headers: RETRY_AFTER_HEADER,
  });
}
