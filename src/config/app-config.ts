import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import * as path from 'node:path';

/** A limit on one kind of request per user: `perMinute` on average, `burst` at once (src/limits). */
export interface RateLimit {
  /** Tokens added a minute; 0 turns the limit off. */
  perMinute: number;
  /** The bucket's size: how many requests a user who has been quiet may make at once. */
  burst: number;
}

/** Everything the service reads from its environment, parsed once at start. */
export interface AppConfig {
  port: number;
  host: string;
  /** Absent in the embedded default: the bootstrap fills it in from the servers it starts. */
  jwtSecret?: string;
  /** The longest lifetime (exp - iat) a token may have, in seconds; tokens without exp are refused. */
  jwtMaxTtlSeconds: number;
  /** An identity provider whose RS256/ES256 tokens are accepted beside our HS256 ones; null when none. */
  identityProvider: IdentityProviderConfig | null;
  /** When set, GET /metrics needs `Authorization: Bearer <this>`. */
  metricsToken?: string;
  logLevel: string;
  dataDir: string;
  embedded: boolean;
  embeddedShards: number;
  embeddedPort: number;
  dialogDbUrl?: string;
  shardUrls: string[];
  /** Databases registered at start but kept off the ring, ready to be resharding targets. */
  spareShards: ShardConfig[];
  /** Pool size per shard: small, because an instance holds one pool for every shard. */
  shardPoolSize: number;
  dialogPoolSize: number;
  /** Group commit of sends per shard: the most rows in one statement, and statements in flight at once. */
  sendBatchMax: number;
  sendBatchesPerShard: number;
  /** Grouped reads per shard (pages, clientMessageId lookups): the most in one statement, and statements in flight at once, per kind. */
  readBatchMax: number;
  readBatchesPerShard: number;
  /** A query on a shard that is down must fail fast rather than hang a request. */
  connectTimeoutMs: number;
  statementTimeoutMs: number;
  activityFlushMs: number;
  /** How often an instance re-reads the ring when no NOTIFY arrives. */
  ringPollMs: number;
  /** LISTEN for ring changes (polling alone is the fallback, and a way to test a slow instance). */
  ringListen: boolean;
  /** An instance that could not refresh its ring for this long stops serving (503). */
  ringLeaseMs: number;
  heartbeatMs: number;
  reshardBatch: number;
  reshardMaxRowsPerSec: number;
  /** The copier slows down while live p99 latency on this instance is above this. */
  /** null: twice the live p99 measured just before the copy starts. */
  reshardLatencyTargetMs: number | null;
  /** A client must send its whole request head within this (a slow-loris dribbling header lines is cut off). */
  httpHeadersTimeoutMs: number;
  /** ... and its whole request, body included, within this. */
  httpRequestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  httpKeepAliveTimeoutMs: number;
  /** On SIGTERM, requests already accepted get this long to finish before their connections are cut. */
  shutdownGraceMs: number;
  /** Per user (the token's sub) and instance: sends, on both send routes; perMinute 0 is off. */
  sendLimit: RateLimit;
  /** ... and dialogs created, by POST /dialogs or by the OTUS send that opens a dialog. */
  dialogLimit: RateLimit;
  /** Users whose buckets an instance keeps for each limit: what bounds the limiter's memory. */
  rateLimitUsers: number;
  /** The membership cache's memory budget, in bytes (as estimated per entry). */
  membershipCacheBytes: number;
  /** Live event streams (GET /events): see EventsConfig. */
  events: EventsConfig;
}

export interface EventsConfig {
  /** A `: ping` comment on every open stream this often, so idle proxies keep it. */
  heartbeatMs: number;
  /** Events are kept (and replayed after a reconnect) at least this long. */
  retentionMs: number;
  /** How often an instance deletes events older than the retention. */
  pruneMs: number;
  /** How often an instance reads new events when no NOTIFY arrives. */
  pollMs: number;
  /** A stream whose unsent output passes this many bytes is a slow consumer and is dropped. */
  maxBufferBytes: number;
  /** An instance starts its appends to the events log at least this far apart. */
  appendIntervalMs: number;
}

/** The resolved configuration once databases are known (embedded servers started or URLs given). */
export interface ResolvedConfig extends AppConfig {
  jwtSecret: string;
  dialogDbUrl: string;
  /** The shards this start was given, in ring order for a fresh ring. */
  shards: ShardConfig[];
}

export interface ShardConfig {
  name: string;
  url: string;
}

/** External shards are named by their position in SHARD_URLS, which is also their ring order. */
export function externalShards(config: AppConfig): ShardConfig[] {
  return config.shardUrls.map((url, i) => ({ name: `shard-${i}`, url }));
}

/** The asymmetric algorithms an identity provider may sign with; each is bound to one key type. */
export type IdpAlgorithm = 'RS256' | 'ES256';

export interface IdentityProviderConfig {
  /** Keys published as a JWKS document (JWT_JWKS_URL)... */
  jwksUrl?: string;
  /** ... or one public key (JWT_PUBLIC_KEY / JWT_PUBLIC_KEY_FILE), as SPKI PEM, with the one algorithm its type allows. */
  publicKey?: { spki: string; alg: IdpAlgorithm };
  /** When set, the token's iss must be exactly this. */
  issuer?: string;
  /** When set, the token's aud must be, or contain, this. */
  audience?: string;
  /** A JWKS fetch that takes longer fails: a request must never wait on the provider for long. */
  jwksTimeoutMs: number;
  /** The least time between fetches that a token's unknown kid (or a failed fetch) can cause. */
  jwksCooldownMs: number;
}

export class ConfigError extends Error {}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

/** pino's levels, and `silent`: any other LOG_LEVEL made pino throw at start, with a stack. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

function logLevel(env: NodeJS.ProcessEnv): string {
  const raw = env.LOG_LEVEL || 'info';
  const level = raw.trim().toLowerCase();
  if (!LOG_LEVELS.includes(level)) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${raw}"`);
  return level;
}

const ON = ['on', 'true', 'yes', '1'];
const OFF = ['off', 'false', 'no', '0'];

/** A switch: on or off (true/false, yes/no, 1/0 too), any case; a typo is an error, not a silent default. */
function flag(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = raw.trim().toLowerCase();
  if (ON.includes(value)) return true;
  if (OFF.includes(value)) return false;
  throw new ConfigError(`${name} must be on or off, got "${raw}"`);
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `90s`, `15m`, `12h`, `7d` (or bare seconds) in seconds; null for anything else. */
export function parseDuration(value: string): number | null {
  const match = /^(\d{1,9})\s*([smhd]?)$/.exec(value.trim());
  if (!match) return null;
  const seconds = Number(match[1]) * DURATION_UNITS[match[2] || 's'];
  return seconds > 0 ? seconds : null;
}

/** The inverse of parseDuration, in the largest unit that divides the value exactly. */
export function formatDuration(seconds: number): string {
  for (const unit of ['d', 'h', 'm']) {
    if (seconds % DURATION_UNITS[unit] === 0) return `${seconds / DURATION_UNITS[unit]}${unit}`;
  }
  return `${seconds}s`;
}

// The CLI signs its admin API calls for five minutes; a cap below that would refuse them. A
// year is already far more than a bearer token should live: the cap exists to bound a leak.
const MIN_TOKEN_TTL = 5 * 60;
const MAX_TOKEN_TTL = 365 * 86_400;

function duration(env: NodeJS.ProcessEnv, name: string, fallback: string, min: number, max: number): number {
  const raw = env[name] || fallback;
  const value = parseDuration(raw);
  if (value === null || value < min || value > max) {
    throw new ConfigError(`${name} must be a duration such as 1h or 24h, from ${formatDuration(min)} to ${formatDuration(max)}, got "${raw}"`);
  }
  return value;
}

/** Shard names appear in URLs, logs and metrics labels, so they stay short and plain. */
export const SHARD_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

function isPostgresUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'postgres:' || url.protocol === 'postgresql:';
  } catch {
    return false;
  }
}

function rateLimit(env: NodeJS.ProcessEnv, name: string, perMinute: number, burst: number): RateLimit {
  return {
    perMinute: int(env, `RATE_LIMIT_${name}_PER_MIN`, perMinute, 0, 100_000_000),
    burst: int(env, `RATE_LIMIT_${name}_BURST`, burst, 1, 100_000_000),
  };
}

/**
 * The identity provider's settings, or null when none is set. Everything is checked here, so a
 * wrong key or URL stops the start with one line instead of refusing every token later.
 */
function identityProvider(env: NodeJS.ProcessEnv): IdentityProviderConfig | null {
  const jwksUrl = env.JWT_JWKS_URL || undefined;
  const inlineKey = env.JWT_PUBLIC_KEY || undefined;
  const keyFile = env.JWT_PUBLIC_KEY_FILE || undefined;
  const issuer = env.JWT_ISSUER || undefined;
  const audience = env.JWT_AUDIENCE || undefined;
  const sources = [jwksUrl && 'JWT_JWKS_URL', inlineKey && 'JWT_PUBLIC_KEY', keyFile && 'JWT_PUBLIC_KEY_FILE'].filter(Boolean);
  if (sources.length > 1) {
    throw new ConfigError(`set one of JWT_JWKS_URL, JWT_PUBLIC_KEY and JWT_PUBLIC_KEY_FILE, not ${sources.join(' and ')}`);
  }
  if (sources.length === 0) {
    // Our own HS256 tokens carry neither; a check that silently applied to nothing would mislead.
    for (const [name, value] of [['JWT_ISSUER', issuer], ['JWT_AUDIENCE', audience]]) {
      if (value) throw new ConfigError(`${name} applies to an identity provider's tokens: set JWT_JWKS_URL or JWT_PUBLIC_KEY too`);
    }
    return null;
  }
  const config: IdentityProviderConfig = {
    issuer,
    audience,
    jwksTimeoutMs: int(env, 'JWT_JWKS_TIMEOUT_MS', 5000, 100, 60_000),
    jwksCooldownMs: int(env, 'JWT_JWKS_COOLDOWN_MS', 30_000, 0, 3_600_000),
  };
  if (jwksUrl) {
    config.jwksUrl = jwksUrl;
    let url: URL;
    try {
      url = new URL(jwksUrl);
    } catch {
      throw new ConfigError(`JWT_JWKS_URL must be an https:// URL, got "${jwksUrl}"`);
    }
    // Whoever can change the keys in transit can sign any token: plain http only on this machine.
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) {
      throw new ConfigError(`JWT_JWKS_URL must be an https:// URL (http:// only for localhost), got "${jwksUrl}"`);
    }
    return config;
  }
  let pem: string;
  const name = keyFile ? 'JWT_PUBLIC_KEY_FILE' : 'JWT_PUBLIC_KEY';
  if (keyFile) {
    try {
      pem = readFileSync(keyFile, 'utf8');
    } catch (err) {
      throw new ConfigError(`JWT_PUBLIC_KEY_FILE: cannot read "${keyFile}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  } else {
    // An environment variable often arrives on one line, with its line breaks written as \n.
    pem = inlineKey!.replace(/\\n/g, '\n');
  }
  config.publicKey = publicKeyOf(pem, name);
  return config;
}

/** The key as SPKI PEM, and the one algorithm its type may verify (no choosing it from the token). */
function publicKeyOf(pem: string, name: string): { spki: string; alg: IdpAlgorithm } {
  // createPublicKey would derive a public key from a private one; a private key has no business here.
  if (/PRIVATE KEY-----/.test(pem)) throw new ConfigError(`${name} holds a private key: give the identity provider's public key only`);
  let key;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new ConfigError(`${name} must be a PEM public key (-----BEGIN PUBLIC KEY-----)`);
  }
  const spki = key.export({ type: 'spki', format: 'pem' }).toString();
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') {
    // jose refuses shorter RSA keys for RS256, and so would every request.
    if ((details.modulusLength ?? 0) < 2048) throw new ConfigError(`${name}: an RSA key must have at least 2048 bits, got ${details.modulusLength}`);
    return { spki, alg: 'RS256' };
  }
  if (key.asymmetricKeyType === 'ec' && details.namedCurve === 'prime256v1') return { spki, alg: 'ES256' };
  const type = key.asymmetricKeyType === 'ec' ? `an EC key on ${details.namedCurve}` : `an ${key.asymmetricKeyType} key`;
  throw new ConfigError(`${name} must be an RSA key (RS256) or an EC P-256 key (ES256), got ${type}`);
}

/**
 * Whether a host name or address stays on this machine: localhost, 127.0.0.0/8 or ::1, also
 * as a URL writes it ([::1]). Only addresses count, so 127.example.com is not loopback.
 */
function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  return bare === 'localhost' || bare === '::1' || (isIPv4(bare) && bare.startsWith('127.'));
}

/** A bearer token a scraper can send in a header: visible ASCII, long enough not to be guessed. */
function metricsToken(env: NodeJS.ProcessEnv): string | undefined {
  const token = env.METRICS_TOKEN || undefined;
  if (token !== undefined && !/^[\x21-\x7e]{16,}$/.test(token)) {
    throw new ConfigError('METRICS_TOKEN must be at least 16 characters, printable ASCII with no spaces');
  }
  return token;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const dialogDbUrl = env.DIALOG_DB_URL || undefined;
  const shardUrls = (env.SHARD_URLS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (dialogDbUrl && shardUrls.length === 0) {
    throw new ConfigError('SHARD_URLS must list at least one shard when DIALOG_DB_URL is set');
  }
  if (!dialogDbUrl && shardUrls.length > 0) {
    throw new ConfigError('DIALOG_DB_URL must be set when SHARD_URLS is set');
  }
  for (const url of [dialogDbUrl, ...shardUrls]) {
    if (url && !isPostgresUrl(url)) throw new ConfigError(`not a postgres:// URL: "${url}"`);
  }
  const spareShards = (env.SPARE_SHARD_URLS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const url = pair.slice(eq + 1).trim();
      if (eq <= 0 || !SHARD_NAME.test(name) || !isPostgresUrl(url)) {
        throw new ConfigError(`SPARE_SHARD_URLS entries must be name=postgres://..., got "${pair}"`);
      }
      return { name, url };
    });
  const embedded = !dialogDbUrl;
  const jwtSecret = env.JWT_SECRET || undefined;
  const ringLeaseMs = int(env, 'RING_LEASE_MS', 5000, 200, 600000);
  const ringPollMs = int(env, 'RING_POLL_MS', 1000, 50, 60000);
  const heartbeatMs = int(env, 'HEARTBEAT_MS', 1000, 50, 60000);
  if (ringLeaseMs <= ringPollMs) {
    throw new ConfigError('RING_LEASE_MS must be longer than RING_POLL_MS, or an idle instance would stop serving');
  }
  // A reshard counts an instance live while it heartbeat within twice the lease.
  if (ringLeaseMs <= heartbeatMs) {
    throw new ConfigError('RING_LEASE_MS must be longer than HEARTBEAT_MS, or a reshard would stop waiting for live instances');
  }
  const headersTimeout = int(env, 'HTTP_HEADERS_TIMEOUT_MS', 10_000, 100, 600_000);
  const requestTimeout = int(env, 'HTTP_REQUEST_TIMEOUT_MS', 30_000, 100, 600_000);
  // Node refuses a server whose head limit exceeds its request limit.
  if (headersTimeout > requestTimeout) {
    throw new ConfigError('HTTP_HEADERS_TIMEOUT_MS must not be longer than HTTP_REQUEST_TIMEOUT_MS');
  }
  if (!embedded && !jwtSecret) {
    throw new ConfigError('JWT_SECRET must be set when external databases are used');
  }
  return {
    port: int(env, 'PORT', 3000, 0, 65535),
    host: env.HOST || '127.0.0.1',
    jwtSecret,
    jwtMaxTtlSeconds: duration(env, 'JWT_MAX_TTL', '24h', MIN_TOKEN_TTL, MAX_TOKEN_TTL),
    identityProvider: identityProvider(env),
    metricsToken: metricsToken(env),
    logLevel: logLevel(env),
    dataDir: path.resolve(env.DATA_DIR || '.data'),
    embedded,
    embeddedShards: int(env, 'EMBEDDED_SHARDS', 2, 1, 64),
    embeddedPort: int(env, 'EMBEDDED_PG_PORT', 54320, 1024, 65000),
    dialogDbUrl,
    shardUrls,
    spareShards,
    shardPoolSize: int(env, 'SHARD_POOL_SIZE', 20, 1, 500),
    dialogPoolSize: int(env, 'DIALOG_POOL_SIZE', 10, 1, 500),
    sendBatchMax: int(env, 'SEND_BATCH_MAX', 256, 1, 10000),
    sendBatchesPerShard: int(env, 'SEND_BATCHES_PER_SHARD', 2, 1, 500),
    readBatchMax: int(env, 'READ_BATCH_MAX', 32, 1, 1000),
    readBatchesPerShard: int(env, 'READ_BATCHES_PER_SHARD', 2, 1, 500),
    connectTimeoutMs: int(env, 'DB_CONNECT_TIMEOUT_MS', 2000, 100, 60000),
    statementTimeoutMs: int(env, 'DB_STATEMENT_TIMEOUT_MS', 5000, 100, 600000),
    activityFlushMs: int(env, 'ACTIVITY_FLUSH_MS', 1000, 50, 60000),
    ringPollMs,
    ringListen: flag(env, 'RING_LISTEN', true),
    ringLeaseMs,
    heartbeatMs,
    reshardBatch: int(env, 'RESHARD_BATCH', 5000, 1, 100000),
    reshardMaxRowsPerSec: int(env, 'RESHARD_MAX_ROWS_PER_SEC', 200000, 1, 10000000),
    reshardLatencyTargetMs: (env.RESHARD_LATENCY_TARGET_MS ?? 'auto') === 'auto' ? null : int(env, 'RESHARD_LATENCY_TARGET_MS', 0, 1, 60000),
    httpHeadersTimeoutMs: headersTimeout,
    httpRequestTimeoutMs: requestTimeout,
    httpKeepAliveTimeoutMs: int(env, 'HTTP_KEEP_ALIVE_TIMEOUT_MS', 72_000, 100, 600_000),
    shutdownGraceMs: int(env, 'SHUTDOWN_GRACE_MS', 25_000, 0, 600_000),
    // Far above what a person types or a client flushing its outbox sends, far below what one
    // user would need to take a noticeable share of an instance.
    sendLimit: rateLimit(env, 'SENDS', 1200, 200),
    // A person opens a few dialogs a minute; a script opening thousands is what this stops.
    dialogLimit: rateLimit(env, 'DIALOGS', 60, 20),
    rateLimitUsers: int(env, 'RATE_LIMIT_USERS', 100_000, 1, 10_000_000),
    membershipCacheBytes: int(env, 'MEMBERSHIP_CACHE_MB', 128, 1, 1_048_576) * 1024 * 1024,
    events: eventsConfig(env),
  };
}

function eventsConfig(env: NodeJS.ProcessEnv): EventsConfig {
  const retentionMs = int(env, 'EVENTS_RETENTION_MS', 600_000, 1000, 86_400_000);
  return {
    // Proxies commonly close a response idle for 30 to 60 s.
    heartbeatMs: int(env, 'EVENTS_HEARTBEAT_MS', 15_000, 50, 600_000),
    retentionMs,
    pruneMs: int(env, 'EVENTS_PRUNE_MS', Math.min(60_000, Math.ceil(retentionMs / 10)), 50, 3_600_000),
    pollMs: int(env, 'EVENTS_POLL_MS', 2000, 50, 60_000),
    maxBufferBytes: int(env, 'EVENTS_MAX_BUFFER_KB', 1024, 1, 1_048_576) * 1024,
    // Each append costs dialogdb a commit and wakes every instance's listeners, whatever it
    // carries: under load, fewer and fuller appends, for a few ms more delivery latency.
    appendIntervalMs: int(env, 'EVENTS_APPEND_INTERVAL_MS', 10, 0, 1000),
  };
}

/**
 * Settings that are allowed but risky, one line each, for the log at start. Only what others
 * can reach counts: a service on loopback (the embedded default) exposes nothing.
 */
export function startupWarnings(config: AppConfig): string[] {
  const warnings: string[] = [];
  if (!config.metricsToken && !isLoopback(config.host)) {
    warnings.push(`/metrics is open to anyone who reaches ${config.host}:${config.port}: set METRICS_TOKEN to require a scrape token`);
  }
  const idp = config.identityProvider;
  if (idp && !idp.audience) {
    warnings.push("JWT_AUDIENCE is not set: tokens the identity provider issued for any other application are accepted too");
  }
  return warnings;
}

export const APP_CONFIG = Symbol('APP_CONFIG');
