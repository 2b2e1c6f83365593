import { Inject, Injectable } from '@nestjs/common';
import { DomainErrorCode, DomainException } from '../common/domain.exception';
import { APP_CONFIG, AppConfig, RateLimit } from '../config/app-config';
import { TokenBuckets } from './token-bucket';

/** What a limit counts, as named in its 429 and its settings (RATE_LIMIT_<NAME>_PER_MIN). */
export type LimitKind = 'sends' | 'dialogs';

/**
 * Per-user limits on this instance, keyed by the token's subject: an IP would throttle a
 * whole office behind one NAT and miss one user spread over many addresses.
 */
@Injectable()
export class RateLimits {
  private readonly sends: TokenBuckets | null;
  private readonly dialogs: TokenBuckets | null;

  constructor(@Inject(APP_CONFIG) config: Pick<AppConfig, 'sendLimit' | 'dialogLimit' | 'rateLimitUsers'>) {
    this.sends = buckets(config.sendLimit, config.rateLimitUsers);
    this.dialogs = buckets(config.dialogLimit, config.rateLimitUsers);
  }

  /** Counts one send by `userId`, or throws RATE_LIMITED (429) with the seconds to wait. */
  takeSend(userId: string): void {
    if (this.sends !== null) take(this.sends, 'sends', userId);
  }

  /** Counts one dialog created by `userId`, or throws RATE_LIMITED. */
  takeDialog(userId: string): void {
    if (this.dialogs !== null) take(this.dialogs, 'dialogs', userId);
  }
}

function buckets(limit: RateLimit, users: number): TokenBuckets | null {
  return limit.perMinute > 0 ? new TokenBuckets(limit, users) : null;
}

function take(buckets: TokenBuckets, kind: LimitKind, userId: string): void {
  const wait = buckets.take(userId);
  if (wait === 0) return;
  const { perMinute, burst } = buckets.limit;
  throw new DomainException(
    DomainErrorCode.RateLimited,
    `too many ${kind}: at most ${perMinute} a minute per user (${burst} at once); retry in ${wait} s`,
    { limit: kind, retryAfter: wait },
  );
}
