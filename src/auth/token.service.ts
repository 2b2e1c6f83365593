import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { LRUCache } from 'lru-cache';
import { decodeProtectedHeader } from 'jose';
import { isCleanString } from '../common/clean-strings.pipe';
import { APP_CONFIG, AppConfig, formatDuration } from '../config/app-config';
import { AuthUser } from './auth.decorators';
import { IdentityProviderKeys, IdpTokenRefused } from './identity-provider';

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
// verdict is remembered until the token expires, or at most this long.
const VERIFIED_MAX_MS = 10 * 60_000;

// A token dated a little ahead by a signer whose clock runs fast is not a forgery; one dated
// further ahead would outlive the cap counted from its iat.
const CLOCK_SKEW_S = 60;

/**
 * The audience of stream tokens: short-lived tokens a browser puts in GET /events?token=,
 * since an EventSource cannot send headers. They open that one route and nothing else, so one
 * that leaks from a URL (a proxy's log, the browser's history) is worth a minute of events.
 */
export const STREAM_AUDIENCE = 'chat-events';
export const STREAM_TOKEN_TTL_S = 60;

/** A token's verdict: the user, or why it is refused (the 401's message). */
export type TokenCheck = { user: AuthUser } | { refused: string };

@Injectable()
export class TokenService {
  private readonly verified = new LRUCache<string, { user: AuthUser; until: number }>({ max: 100_000 });
  /** The longest lifetime a token may have (JWT_MAX_TTL), in seconds. */
  readonly maxTtlSeconds: number;
  /** The identity provider whose RS256/ES256 tokens are accepted beside ours, if one is configured. */
  private readonly idp: IdentityProviderKeys | null;

  constructor(
    private readonly jwt: JwtService,
    @Inject(APP_CONFIG) config: Pick<AppConfig, 'jwtMaxTtlSeconds'> & Partial<Pick<AppConfig, 'identityProvider'>>,
  ) {
    this.maxTtlSeconds = config.jwtMaxTtlSeconds;
    this.idp = config.identityProvider ? new IdentityProviderKeys(config.identityProvider) : null;
  }

  /** A token that lives `ttlSeconds`, by default as long as this service accepts (JWT_MAX_TTL). */
  sign(userId: string, options: { admin?: boolean; viewer?: boolean; ttlSeconds?: number } = {}): string {
    if (!isUserId(userId)) throw new Error('a user id is 1 to 64 characters of well-formed Unicode with no control characters');
    if (options.admin && options.viewer) throw new Error('a token is either admin or viewer, not both');
    const ttl = options.ttlSeconds ?? this.maxTtlSeconds;
    if (!Number.isInteger(ttl) || ttl <= 0) throw new Error('a token lifetime is a whole number of seconds above 0');
    // Signing what verify would refuse would only move the failure to the first request.
    if (ttl > this.maxTtlSeconds) {
      throw new Error(`a token may live at most ${formatDuration(this.maxTtlSeconds)} (JWT_MAX_TTL), not ${formatDuration(ttl)}`);
    }
    const payload: Record<string, unknown> = { sub: userId };
    if (options.admin) payload.role = 'admin';
    if (options.viewer) payload.role = 'viewer';
    return this.jwt.sign(payload, { expiresIn: ttl });
  }

  /** A stream token for GET /events?token=: STREAM_TOKEN_TTL_S long, and accepted nowhere else. */
  signStream(userId: string): string {
    return this.jwt.sign({ sub: userId }, { expiresIn: STREAM_TOKEN_TTL_S, audience: STREAM_AUDIENCE });
  }

  /** Accepts only stream tokens (signStream's), which check() refuses. */
  checkStream(token: string): TokenCheck {
    let claims: { sub?: unknown };
    try {
      claims = this.jwt.verify(token, { algorithms: ['HS256'], audience: STREAM_AUDIENCE });
    } catch (err) {
      if ((err as Error)?.name === 'TokenExpiredError') return { refused: 'stream token expired: get a new one from POST /events/token' };
      return { refused: 'invalid stream token: ?token= takes a token from POST /events/token (or send Authorization: Bearer <JWT>)' };
    }
    if (!isUserId(claims.sub)) return { refused: 'invalid stream token' };
    return { user: { id: claims.sub, admin: false, viewer: false } };
  }

  /** Returns the user, or null for any token that check() refuses. */
  async verify(token: string): Promise<AuthUser | null> {
    const checked = await this.check(token);
    return 'user' in checked ? checked.user : null;
  }

  /**
   * Accepts our HS256 tokens, and the identity provider's RS256/ES256 ones when it is
   * configured, that name a valid user and expire within JWT_MAX_TTL of being issued: a token
   * with no exp, or one years ahead, would be a password that never changes, and a leaked one
   * would open the account for good. Throws a 503 DomainException when the provider's keys
   * cannot be fetched.
   */
  async check(token: string): Promise<TokenCheck> {
    const now = Date.now();
    const known = this.verified.get(token);
    if (known && now < known.until) return { user: known.user };
    let claims: { sub?: unknown; role?: unknown; exp?: unknown; iat?: unknown; aud?: unknown };
    // The header's alg only picks which of our keys to try; each key verifies its one
    // algorithm, so an HS256 token "signed" with the provider's public key meets our secret.
    const idp = this.idp;
    const fromIdp = idp !== null && idp.accepts(headerAlg(token));
    if (fromIdp) {
      try {
        claims = await idp.verify(token);
      } catch (err) {
        if (err instanceof IdpTokenRefused) return { refused: err.message };
        throw err;
      }
    } else {
      try {
        claims = this.jwt.verify(token, { algorithms: ['HS256'] });
      } catch (err) {
        const name = (err as Error)?.name;
        if (name === 'TokenExpiredError') return { refused: 'token expired' };
        if (name === 'NotBeforeError') return { refused: 'token not valid yet (nbf)' };
        return { refused: 'invalid token' };
      }
    }
    if (!fromIdp && isStreamToken(claims)) return { refused: 'a stream token opens only GET /events?token=; send your bearer token here' };
    if (typeof claims.exp !== 'number') {
      return { refused: `token has no exp: tokens must expire, at most ${formatDuration(this.maxTtlSeconds)} after they are issued` };
    }
    if (claims.iat !== undefined && typeof claims.iat !== 'number') return { refused: 'invalid token: iat is not a number' };
    const nowS = now / 1000;
    // Counted from iat, the lifetime its issuer gave it; from now too, so that a token dated
    // in the future cannot stretch its life; from now alone when there is no iat.
    const lifetime = Math.max(claims.exp - (claims.iat ?? nowS), claims.exp - nowS - CLOCK_SKEW_S);
    if (lifetime > this.maxTtlSeconds) {
      return {
        refused: `token lives ${formatDuration(Math.ceil(lifetime))}, longer than the ${formatDuration(this.maxTtlSeconds)} this service accepts (JWT_MAX_TTL)`,
      };
    }
    if (!isUserId(claims.sub)) {
      return { refused: 'token sub must be a user id: 1 to 64 characters of well-formed Unicode with no control characters' };
    }
    // Roles come only from our own tokens: the provider vouches for who a user is, and its
    // `role` claim, if any, means whatever it means there, not this service's admin.
    const user = fromIdp
      ? { id: claims.sub, admin: false, viewer: false }
      : { id: claims.sub, admin: claims.role === 'admin', viewer: claims.role === 'viewer' };
    this.verified.set(token, { user, until: Math.min(claims.exp * 1000, now + VERIFIED_MAX_MS) });
    return { user };
  }
}

function isStreamToken(claims: { aud?: unknown }): boolean {
  return claims.aud === STREAM_AUDIENCE || (Array.isArray(claims.aud) && claims.aud.includes(STREAM_AUDIENCE));
}

/** The alg a token's header names, or undefined when there is no readable header. */
function headerAlg(token: string): unknown {
  try {
    return decodeProtectedHeader(token).alg;
  } catch {
    return undefined;
  }
}
