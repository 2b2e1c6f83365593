/** Every failure the service reports on purpose; the filter maps each code to one HTTP status. */
export enum DomainErrorCode {
  DialogNotFound = 'DIALOG_NOT_FOUND',
  MessageNotFound = 'MESSAGE_NOT_FOUND',
  MessageDeleted = 'MESSAGE_DELETED',
  NotMessageAuthor = 'NOT_MESSAGE_AUTHOR',
  InvalidCursor = 'INVALID_CURSOR',
  InvalidInput = 'INVALID_INPUT',
  /** A body in anything but JSON (a form, text, no Content-Type at all). */
  UnsupportedMediaType = 'UNSUPPORTED_MEDIA_TYPE',
  ShardNotFound = 'SHARD_NOT_FOUND',
  ShardUnavailable = 'SHARD_UNAVAILABLE',
  DialogDbUnavailable = 'DIALOG_DB_UNAVAILABLE',
  RingUnavailable = 'RING_UNAVAILABLE',
  ReshardConflict = 'RESHARD_CONFLICT',
  ReshardNotFound = 'RESHARD_NOT_FOUND',
  DatabaseUnreachable = 'DATABASE_UNREACHABLE',
  RateLimited = 'RATE_LIMITED',
  /** The identity provider's JWKS cannot be fetched, so its tokens cannot be checked. */
  IdentityProviderUnavailable = 'IDP_KEYS_UNAVAILABLE',
}

export class DomainException extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    /** Extra fields merged into the JSON error body, e.g. which shard is down. */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'DomainException';
  }
}
