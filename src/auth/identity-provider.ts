import { Logger } from '@nestjs/common';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  CryptoKey,
  errors,
  FlattenedJWSInput,
  importSPKI,
  JWSHeaderParameters,
  jwtVerify,
  JWTPayload,
  RemoteJWKSet,
} from 'jose';
import { DomainErrorCode, DomainException } from '../common/domain.exception';
import { IdentityProviderConfig, IdpAlgorithm } from '../config/app-config';

/** What a JWKS may sign with: jose matches each to its key type (RSA, EC P-256) and never to a secret. */
const JWKS_ALGORITHMS: IdpAlgorithm[] = ['RS256', 'ES256'];

// jose's default: keys are fetched again on first use after this, so a key the provider
// withdrew stops verifying within it (unless the provider cannot be reached then).
const JWKS_MAX_AGE_MS = 10 * 60_000;

/** A token from the provider that is not acceptable: the 401's message. */
export class IdpTokenRefused extends Error {}

type GetKey = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>;

/**
 * Verifies tokens signed by an identity provider (RS256 or ES256) with its public keys: one
 * PEM key, or a JWKS document that jose fetches and caches. The algorithm is always taken
 * from the configured key's type, never from the token alone.
 */
export class IdentityProviderKeys {
  private readonly logger = new Logger('IdentityProvider');
  readonly algorithms: IdpAlgorithm[];
  private readonly getKey: GetKey;
  private readonly remote: RemoteJWKSet | null = null;
  /** When the latest JWKS fetch failed; null while the provider answers. */
  private failedAt: number | null = null;
  /** The keys fetched before the provider stopped answering. */
  private stale: ReturnType<typeof createLocalJWKSet> | null = null;
  private retrying: Promise<void> | null = null;

  constructor(
    private readonly config: IdentityProviderConfig,
    /** For tests: how long a fetched JWKS counts as fresh. */
    jwksMaxAgeMs = JWKS_MAX_AGE_MS,
  ) {
    if (config.jwksUrl) {
      this.algorithms = JWKS_ALGORITHMS;
      this.remote = createRemoteJWKSet(new URL(config.jwksUrl), {
        timeoutDuration: config.jwksTimeoutMs,
        cooldownDuration: config.jwksCooldownMs,
        cacheMaxAge: jwksMaxAgeMs,
      });
      this.getKey = (header, token) => this.jwksKey(header, token);
    } else if (config.publicKey) {
      const { spki, alg } = config.publicKey;
      this.algorithms = [alg];
      const key = importSPKI(spki, alg);
      // Settled now, so that a later failure cannot be an unhandled rejection.
      key.catch(() => undefined);
      this.getKey = () => key;
    } else {
      throw new Error('an identity provider needs JWT_JWKS_URL or a public key');
    }
  }

  /** Whether a token whose header names `alg` is for this provider to check. */
  accepts(alg: unknown): boolean {
    return this.algorithms.includes(alg as IdpAlgorithm);
  }

  /**
   * The token's claims once its signature, issuer and audience check out. Throws
   * IdpTokenRefused for a bad token, and a 503 DomainException when the provider's keys
   * cannot be fetched: the token may well be good, so the client should retry, not log in again.
   */
  async verify(token: string): Promise<JWTPayload> {
    try {
      const { payload } = await jwtVerify(token, this.getKey, {
        algorithms: this.algorithms,
        issuer: this.config.issuer,
        audience: this.config.audience,
      });
      return payload;
    } catch (err) {
      if (err instanceof DomainException) throw err;
      throw new IdpTokenRefused(this.refusal(err));
    }
  }

  private refusal(err: unknown): string {
    if (err instanceof errors.JWTExpired) return 'token expired';
    if (err instanceof errors.JWTClaimValidationFailed) {
      if (err.claim === 'iss') return 'invalid token: its iss is not the issuer this service accepts (JWT_ISSUER)';
      if (err.claim === 'aud') return 'invalid token: its aud does not name this service (JWT_AUDIENCE)';
      if (err.claim === 'nbf') return 'token not valid yet (nbf)';
      return `invalid token: ${err.message}`;
    }
    if (err instanceof errors.JWKSNoMatchingKey) return "invalid token: no key of the identity provider matches its kid";
    if (err instanceof errors.JWKSMultipleMatchingKeys) return 'invalid token: it names no kid, and the identity provider has several keys';
    return 'invalid token';
  }

  /**
   * jose's remote set, with what it leaves to us when the provider cannot be reached: only
   * the first failing fetch makes requests wait (at most JWT_JWKS_TIMEOUT_MS); from then on
   * they are answered at once from the keys fetched before (or 503 when there are none),
   * while a fetch in the background, at most once per JWT_JWKS_COOLDOWN_MS, looks for the
   * provider's return.
   */
  private async jwksKey(header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey> {
    if (this.failedAt !== null) {
      if (!this.retrying && Date.now() - this.failedAt >= this.config.jwksCooldownMs) this.retry();
      return this.fromStale(header, token);
    }
    try {
      return await this.remote!(header, token);
    } catch (err) {
      if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) throw err;
      this.failed(err);
      return this.fromStale(header, token);
    }
  }

  private failed(err: unknown): void {
    if (this.failedAt === null) {
      this.logger.warn(`cannot fetch the JWKS from ${this.config.jwksUrl}: ${describe(err)}; serving from the keys fetched before, if any`);
      const last = this.remote!.jwks();
      this.stale = last ? createLocalJWKSet(last) : null;
    }
    this.failedAt = Date.now();
  }

  private retry(): void {
    this.retrying = this.remote!.reload().then(
      () => {
        this.logger.log(`the JWKS at ${this.config.jwksUrl} answers again`);
        this.failedAt = null;
        this.stale = null;
      },
      (err: unknown) => this.failed(err),
    );
    void this.retrying.finally(() => (this.retrying = null));
  }

  private fromStale(header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey> {
    if (!this.stale) {
      throw new DomainException(
        DomainErrorCode.IdentityProviderUnavailable,
        "the identity provider's keys (JWT_JWKS_URL) cannot be fetched; try again shortly",
      );
    }
    return this.stale(header, token);
  }
}

function describe(err: unknown): string {
  if (err instanceof errors.JWKSTimeout) return 'timed out';
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  const message = (err as Error)?.message ?? String(err);
  return cause?.code ? `${message} (${cause.code})` : message;
}
