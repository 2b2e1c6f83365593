import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { LRUCache } from 'lru-cache';
import { isCleanString } from '../common/clean-strings.pipe';
import { AuthUser } from './auth.decorators';

/**
 * User ids are opaque strings of 1 to 64 characters (the OTUS spec's UserId), with no control
 * characters, and well-formed: an unpaired surrogate would be stored as U+FFFD, making two
 * token subjects one participant.
 */
export function isUserId(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length >= 1 &&
    value.length <= 64 &&
    !/[\u0000-\u001f\u007f]/.test(value) &&
    isCleanString(value)
  );
}

// Clients send the same token on every request; one HMAC check per token is enough, then the
// verdict is remembered until the token expires (at most this long, for tokens without exp).
const VERIFIED_MAX_MS = 10 * 60_000;

@Injectable()
export class TokenService {
  private readonly verified = new LRUCache<string, { user: AuthUser; until: number }>({ max: 100_000 });

  constructor(private readonly jwt: JwtService) {}

  sign(userId: string, options: { admin?: boolean; viewer?: boolean; expiresIn?: string } = {}): string {
    if (!isUserId(userId)) throw new Error('a user id is 1 to 64 characters of well-formed Unicode with no control characters');
    if (options.admin && options.viewer) throw new Error('a token is either admin or viewer, not both');
    const payload: Record<string, unknown> = { sub: userId };
    if (options.admin) payload.role = 'admin';
    if (options.viewer) payload.role = 'viewer';
    return this.jwt.sign(payload, { expiresIn: (options.expiresIn ?? '7d') as never });
  }

  /** Returns the user, or null for any token that is not ours, is expired, or names no valid user. */
  verify(token: string): AuthUser | null {
    const now = Date.now();
    const known = this.verified.get(token);
    if (known && now < known.until) return known.user;
    try {
      const claims = this.jwt.verify<{ sub?: unknown; role?: unknown; exp?: number }>(token, { algorithms: ['HS256'] });
      if (!isUserId(claims.sub)) return null;
      const user = { id: claims.sub, admin: claims.role === 'admin', viewer: claims.role === 'viewer' };
      const until = Math.min(typeof claims.exp === 'number' ? claims.exp * 1000 : Infinity, now + VERIFIED_MAX_MS);
      this.verified.set(token, { user, until });
      return user;
    } catch {
      return null;
    }
  }
}
