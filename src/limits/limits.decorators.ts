import { applyDecorators, UseGuards } from '@nestjs/common';
import { ApiTooManyRequestsResponse } from '@nestjs/swagger';
import { ApiErrors } from '../common/api-responses';
import { RETRY_AFTER_HEADER } from '../common/retry-after';
import { SendLimitGuard } from './send-limit.guard';

const SENDS = 'this user sent more than RATE_LIMIT_SENDS_PER_MIN allows';
const DIALOGS = 'this user created more dialogs than RATE_LIMIT_DIALOGS_PER_MIN allows';

function tooManyRequests(reasons: string[], errorBody = true): MethodDecorator {
  const description = `RATE_LIMITED: ${reasons.join(', or ')}; Retry-After says when to try again`;
  // The OTUS routes document their 4xx as the OTUS spec does: without a body schema.
  return errorBody ? ApiErrors({ 429: description }) : ApiTooManyRequestsResponse({ description, headers: RETRY_AFTER_HEADER });
}

/**
 * A route that sends a message: the per-user send limit applies, and the document says so.
 * `opensDialog`: the send may create its dialog, which DialogsService counts against the
 * dialog limit too. `errorBody: false` documents the 429 without the shared error schema.
 */
export function SendLimited({ opensDialog = false, errorBody = true } = {}): MethodDecorator {
  const reasons = opensDialog ? [SENDS, `this send would open a dialog and ${DIALOGS}`] : [SENDS];
  return applyDecorators(UseGuards(SendLimitGuard), tooManyRequests(reasons, errorBody));
}

/** A route that may create a dialog, which DialogsService counts against the per-user dialog limit. */
export function ApiDialogLimit(): MethodDecorator {
  return tooManyRequests([DIALOGS]);
}
