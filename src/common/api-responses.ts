import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiExtraModels, ApiProperty, ApiPropertyOptional, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { DomainErrorCode } from './domain.exception';
import { RETRY_AFTER_HEADER } from './retry-after';

/**
 * The JSON error contract every route answers with (AllExceptionsFilter), for the API
 * document. A domain error merges its details beside these fields, named below.
 */
export class ErrorDto {
  @ApiProperty({ type: 'integer', description: 'the HTTP status', example: 404 }) statusCode: number;
  @ApiProperty({ description: 'the HTTP reason phrase', example: 'Not Found' }) error: string;
  @ApiProperty({ description: 'what went wrong, for a person' }) message: string;
  @ApiPropertyOptional({ enum: DomainErrorCode, enumName: 'ErrorCode', description: "the service's own error code, for a program" })
  code?: DomainErrorCode;
  @ApiPropertyOptional({ description: 'the database that is unavailable (503 SHARD_UNAVAILABLE, DIALOG_DB_UNAVAILABLE)' }) database?: string;
  @ApiPropertyOptional({ description: 'the shard that is not found (404 SHARD_NOT_FOUND)' }) shard?: string;
  @ApiPropertyOptional({ enum: ['sends', 'dialogs'], description: 'the limit that refused the request (429 RATE_LIMITED)' }) limit?: string;
  @ApiPropertyOptional({ type: 'integer', description: 'as Retry-After: whole seconds (429 RATE_LIMITED)' }) retryAfter?: number;
}

export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 410 | 413 | 415 | 422 | 429 | 503;

const DEFAULT_DESCRIPTIONS: Record<ErrorStatus, string> = {
  400: 'INVALID_INPUT (or INVALID_CURSOR): a parameter or the body is not as this document describes it',
  401: 'no bearer token, or a bad, expired or too long-lived one',
  403: 'a viewer token: it opens only the state page',
  404: 'not found',
  409: 'RESHARD_CONFLICT: the registry or the ring is not in a state that allows this',
  410: 'gone',
  413: 'the request body is larger than 64 KiB',
  415: 'the body is not application/json',
  422: 'DATABASE_UNREACHABLE: the database named cannot be reached',
  429: 'RATE_LIMITED; Retry-After says when to try again',
  503: 'a database this request needs, the ring, or the identity provider\'s keys are unavailable; retry after Retry-After seconds',
};

const WITH_RETRY_AFTER = new Set<ErrorStatus>([429, 503]);

/**
 * Documents error responses with the shared ErrorDto body: `true` keeps the usual
 * description, a string replaces it. On a controller it applies to every route, and a
 * route's own entry for the same status wins.
 */
export function ApiErrors(errors: Partial<Record<ErrorStatus, string | true>>) {
  const responses = Object.entries(errors).map(([key, text]) => {
    const status = Number(key) as ErrorStatus;
    return ApiResponse({
      status,
      description: text === true ? DEFAULT_DESCRIPTIONS[status] : (text as string),
      content: { 'application/json': { schema: { $ref: getSchemaPath(ErrorDto) } } },
      ...(WITH_RETRY_AFTER.has(status) ? { headers: RETRY_AFTER_HEADER } : {}),
    });
  });
  return applyDecorators(ApiExtraModels(ErrorDto), ...responses);
}

/** What a body can be refused for before the handler sees it, beside its own validation. */
export const BODY_ERRORS = { 400: true, 413: true, 415: true } as const;

/** A route for any user's token: 401 without a good one, 403 for a viewer's, 503 when what it needs is down. */
export const ApiUserAuth = () => applyDecorators(ApiBearerAuth(), ApiErrors({ 401: true, 403: true, 503: true }));

/** An /admin route: the same, and 403 for a token without `role: "admin"`. */
export const ApiAdminAuth = () =>
  applyDecorators(ApiBearerAuth(), ApiErrors({ 401: true, 403: 'not an admin token (a user or viewer token)', 503: true }));
