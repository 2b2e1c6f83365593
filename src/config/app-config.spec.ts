import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ConfigError, externalShards, formatDuration, loadConfig, parseDuration, startupWarnings } from './app-config';

describe('loadConfig', () => {
  it('defaults to the embedded setup with two shards on port 3000', () => {
    const sut = loadConfig({});
    expect(sut).toMatchObject({ embedded: true, embeddedShards: 2, port: 3000, shardUrls: [], spareShards: [] });
    expect(sut.dataDir).toMatch(/\.data$/);
  });

  it('uses external databases when DIALOG_DB_URL and SHARD_URLS are set', () => {
    const sut = loadConfig({
      DIALOG_DB_URL: 'postgres://u:p@db/dialogdb',
      SHARD_URLS: 'postgres://u:p@m0/messagedb, postgres://u:p@m1/messagedb',
      SPARE_SHARD_URLS: 'messagedb-2=postgres://u:p@m2/messagedb',
      JWT_SECRET: 's',
    });
    expect(sut.embedded).toBe(false);
    expect(externalShards(sut)).toEqual([
      { name: 'shard-0', url: 'postgres://u:p@m0/messagedb' },
      { name: 'shard-1', url: 'postgres://u:p@m1/messagedb' },
    ]);
    expect(sut.spareShards).toEqual([{ name: 'messagedb-2', url: 'postgres://u:p@m2/messagedb' }]);
  });

  it.each([
    ['shards without dialogdb', { SHARD_URLS: 'postgres://x/y' }],
    ['dialogdb without shards', { DIALOG_DB_URL: 'postgres://x/y', JWT_SECRET: 's' }],
    ['external databases without JWT_SECRET', { DIALOG_DB_URL: 'postgres://x/y', SHARD_URLS: 'postgres://x/z' }],
    ['a URL that is not postgres', { DIALOG_DB_URL: 'http://x/y', SHARD_URLS: 'postgres://x/z', JWT_SECRET: 's' }],
    ['a bad port', { PORT: 'eighty' }],
    ['a spare without a name', { SPARE_SHARD_URLS: 'postgres://x/y' }],
    ['a lease shorter than the poll', { RING_LEASE_MS: '500', RING_POLL_MS: '1000' }],
    ['a token lifetime that is no duration', { JWT_MAX_TTL: 'forever' }],
    ['a token lifetime under five minutes', { JWT_MAX_TTL: '1m' }],
    ['a token lifetime over a year', { JWT_MAX_TTL: '400d' }],
    ['a lease shorter than the heartbeat', { RING_LEASE_MS: '2000', HEARTBEAT_MS: '3000', RING_POLL_MS: '100' }],
    ['a header timeout longer than the request timeout', { HTTP_HEADERS_TIMEOUT_MS: '20000', HTTP_REQUEST_TIMEOUT_MS: '10000' }],
    ['a membership cache of no memory', { MEMBERSHIP_CACHE_MB: '0' }],
    ['a negative send limit', { RATE_LIMIT_SENDS_PER_MIN: '-1' }],
    ['a burst that lets nothing through', { RATE_LIMIT_DIALOGS_BURST: '0' }],
    ['a log level pino does not know', { LOG_LEVEL: 'loud' }],
    ['a switch that is neither on nor off', { RING_LISTEN: 'maybe' }],
  ])('rejects %s', (_name, env) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
  });

  it('reads LOG_LEVEL and RING_LISTEN in any case, and says what a bad one may be', () => {
    expect(loadConfig({}).logLevel).toBe('info');
    expect(loadConfig({ LOG_LEVEL: 'WARN' }).logLevel).toBe('warn');
    expect(loadConfig({ LOG_LEVEL: 'silent' }).logLevel).toBe('silent');
    expect(() => loadConfig({ LOG_LEVEL: 'loud' })).toThrow('LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent, got "loud"');
    expect(loadConfig({}).ringListen).toBe(true);
    expect(loadConfig({ RING_LISTEN: 'OFF' }).ringListen).toBe(false);
    expect(loadConfig({ RING_LISTEN: '0' }).ringListen).toBe(false);
    expect(loadConfig({ RING_LISTEN: 'yes' }).ringListen).toBe(true);
    expect(() => loadConfig({ RING_LISTEN: 'of' })).toThrow('RING_LISTEN must be on or off, got "of"');
  });
});

describe('ring timing', () => {
  it('reads the lease, the poll and the heartbeat once, checked against each other', () => {
    expect(loadConfig({})).toMatchObject({ ringLeaseMs: 5000, ringPollMs: 1000, heartbeatMs: 1000 });
    expect(loadConfig({ RING_LEASE_MS: '3000', RING_POLL_MS: '200', HEARTBEAT_MS: '300' })).toMatchObject({ ringLeaseMs: 3000, ringPollMs: 200, heartbeatMs: 300 });
  });
});

describe('HTTP timeouts', () => {
  it('cut off slow clients by default: 10 s for the head, 30 s for the request, 72 s idle keep-alive', () => {
    expect(loadConfig({})).toMatchObject({ httpHeadersTimeoutMs: 10_000, httpRequestTimeoutMs: 30_000, httpKeepAliveTimeoutMs: 72_000, shutdownGraceMs: 25_000 });
  });
});

describe('rate limits', () => {
  it('limit each user by default, generously, and 0 turns a limit off', () => {
    expect(loadConfig({})).toMatchObject({
      sendLimit: { perMinute: 1200, burst: 200 },
      dialogLimit: { perMinute: 60, burst: 20 },
      rateLimitUsers: 100_000,
    });
    expect(loadConfig({ RATE_LIMIT_SENDS_PER_MIN: '0', RATE_LIMIT_DIALOGS_PER_MIN: '30', RATE_LIMIT_DIALOGS_BURST: '5' })).toMatchObject({
      sendLimit: { perMinute: 0 },
      dialogLimit: { perMinute: 30, burst: 5 },
    });
  });
});

describe('memory', () => {
  it('gives the membership cache 128 MiB unless set', () => {
    expect(loadConfig({}).membershipCacheBytes).toBe(128 * 1024 * 1024);
    expect(loadConfig({ MEMBERSHIP_CACHE_MB: '16' }).membershipCacheBytes).toBe(16 * 1024 * 1024);
  });
});

describe('live event streams', () => {
  it('pings every 15 s, keeps 10 minutes, prunes a tenth of that (at most a minute), bounds a stream at 1 MiB and spaces appends 10 ms unless set', () => {
    expect(loadConfig({}).events).toEqual({ heartbeatMs: 15_000, retentionMs: 600_000, pruneMs: 60_000, pollMs: 2000, maxBufferBytes: 1024 * 1024, appendIntervalMs: 10 });
    expect(loadConfig({ EVENTS_RETENTION_MS: '60000', EVENTS_HEARTBEAT_MS: '200', EVENTS_MAX_BUFFER_KB: '64', EVENTS_APPEND_INTERVAL_MS: '0' }).events).toMatchObject({
      heartbeatMs: 200,
      retentionMs: 60_000,
      pruneMs: 6000,
      maxBufferBytes: 64 * 1024,
      appendIntervalMs: 0,
    });
  });

  it('refuses values out of range', () => {
    expect(() => loadConfig({ EVENTS_HEARTBEAT_MS: '0' })).toThrow(/EVENTS_HEARTBEAT_MS must be an integer from 50/);
    expect(() => loadConfig({ EVENTS_RETENTION_MS: 'ten minutes' })).toThrow(/EVENTS_RETENTION_MS/);
  });
});

describe('JWT_MAX_TTL', () => {
  it('caps tokens at 24 hours unless set', () => {
    expect(loadConfig({}).jwtMaxTtlSeconds).toBe(86_400);
    expect(loadConfig({ JWT_MAX_TTL: '1h' }).jwtMaxTtlSeconds).toBe(3600);
    expect(loadConfig({ JWT_MAX_TTL: '7d' }).jwtMaxTtlSeconds).toBe(7 * 86_400);
  });

  it('reads and prints durations', () => {
    expect(['90', '90s', '15m', '12h', '7d', '7 d'].map(parseDuration)).toEqual([90, 90, 900, 43_200, 604_800, 604_800]);
    expect(['', '0', '-1h', '1.5h', '1w', 'h', '1h30m'].map(parseDuration)).toEqual([null, null, null, null, null, null, null]);
    expect([90, 900, 43_200, 86_400, 90_000].map(formatDuration)).toEqual(['90s', '15m', '12h', '1d', '25h']);
  });
});

describe('identity provider settings', () => {
  const spki = (type: 'rsa' | 'ec' | 'ed25519', options: Record<string, unknown> = {}) =>
    generateKeyPairSync(type as 'rsa', { modulusLength: 2048, ...options } as { modulusLength: number }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const rsa = spki('rsa');
  const ec = spki('ec', { namedCurve: 'prime256v1' });
  const error = (env: NodeJS.ProcessEnv) => {
    try {
      loadConfig(env);
    } catch (err) {
      if (err instanceof ConfigError) return err.message;
      throw err;
    }
    return null;
  };

  it('has none unless a key or a JWKS is set', () => {
    expect(loadConfig({}).identityProvider).toBeNull();
  });

  it('picks the one algorithm the key type allows', () => {
    expect(loadConfig({ JWT_PUBLIC_KEY: rsa }).identityProvider?.publicKey?.alg).toBe('RS256');
    expect(loadConfig({ JWT_PUBLIC_KEY: ec }).identityProvider?.publicKey?.alg).toBe('ES256');
  });

  it('reads the key from JWT_PUBLIC_KEY_FILE', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'idp-key-'));
    try {
      const file = path.join(dir, 'idp.pem');
      writeFileSync(file, ec);
      expect(loadConfig({ JWT_PUBLIC_KEY_FILE: file }).identityProvider?.publicKey).toEqual({ spki: ec, alg: 'ES256' });
      expect(error({ JWT_PUBLIC_KEY_FILE: path.join(dir, 'missing.pem') })).toMatch(/JWT_PUBLIC_KEY_FILE: cannot read .*ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes a JWKS URL with its issuer, audience, timeout and cooldown', () => {
    expect(
      loadConfig({ JWT_JWKS_URL: 'https://id.example.test/.well-known/jwks.json', JWT_ISSUER: 'https://id.example.test/', JWT_AUDIENCE: 'chat' }).identityProvider,
    ).toEqual({
      jwksUrl: 'https://id.example.test/.well-known/jwks.json',
      issuer: 'https://id.example.test/',
      audience: 'chat',
      jwksTimeoutMs: 5000,
      jwksCooldownMs: 30_000,
    });
    expect(loadConfig({ JWT_JWKS_URL: 'http://127.0.0.1:8080/jwks' }).identityProvider?.jwksUrl).toBe('http://127.0.0.1:8080/jwks');
  });

  it('takes plain http only to this machine: the same loopback rule as the /metrics warning', () => {
    for (const host of ['localhost', '127.0.0.1', '127.0.0.2', '[::1]']) {
      expect(loadConfig({ JWT_JWKS_URL: `http://${host}:8080/jwks` }).identityProvider?.jwksUrl).toBe(`http://${host}:8080/jwks`);
      expect(startupWarnings(loadConfig({ HOST: host.replace(/[[\]]/g, '') }))).toEqual([]);
    }
    for (const host of ['127.attacker.example', 'localhost.attacker.example', '10.0.0.1']) {
      expect(() => loadConfig({ JWT_JWKS_URL: `http://${host}/jwks` })).toThrow(/http:\/\/ only for localhost/);
      expect(startupWarnings(loadConfig({ HOST: host }))).toEqual([expect.stringMatching(/\/metrics is open/)]);
    }
  });

  it.each([
    ['two key sources', { JWT_JWKS_URL: 'https://id.example.test/jwks', JWT_PUBLIC_KEY: rsa }, /one of JWT_JWKS_URL, JWT_PUBLIC_KEY and JWT_PUBLIC_KEY_FILE/],
    ['an issuer with no provider', { JWT_ISSUER: 'https://id.example.test/' }, /JWT_ISSUER applies to an identity provider/],
    ['an audience with no provider', { JWT_AUDIENCE: 'chat' }, /JWT_AUDIENCE applies to an identity provider/],
    ['a JWKS over plain http to another host', { JWT_JWKS_URL: 'http://id.example.test/jwks' }, /https:\/\/ URL \(http:\/\/ only for localhost\)/],
    ['a JWKS URL that is no URL', { JWT_JWKS_URL: 'id.example.test/jwks' }, /JWT_JWKS_URL must be an https/],
    ['a JWKS timeout of 0', { JWT_JWKS_URL: 'https://id.example.test/jwks', JWT_JWKS_TIMEOUT_MS: '0' }, /JWT_JWKS_TIMEOUT_MS/],
    ['a key that is no PEM', { JWT_PUBLIC_KEY: 'not a key' }, /JWT_PUBLIC_KEY must be a PEM public key/],
    [
      'a private key',
      { JWT_PUBLIC_KEY: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
      /holds a private key/,
    ],
    ['an Ed25519 key', { JWT_PUBLIC_KEY: spki('ed25519') }, /RSA key \(RS256\) or an EC P-256 key \(ES256\), got an ed25519 key/],
    ['an EC key on another curve', { JWT_PUBLIC_KEY: spki('ec', { namedCurve: 'secp384r1' }) }, /got an EC key on secp384r1/],
    ['a short RSA key', { JWT_PUBLIC_KEY: spki('rsa', { modulusLength: 1024 }) }, /at least 2048 bits, got 1024/],
  ])('refuses %s with one line', (_name, env, message) => {
    const refused = error(env);
    expect(refused).toMatch(message);
    expect(refused).not.toMatch(/\n/);
  });
});

describe('METRICS_TOKEN', () => {
  it('is optional, and must be hard to guess when set', () => {
    expect(loadConfig({}).metricsToken).toBeUndefined();
    expect(loadConfig({ METRICS_TOKEN: 'scrape-0123456789abcdef' }).metricsToken).toBe('scrape-0123456789abcdef');
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(/at least 16 characters/);
    expect(() => loadConfig({ METRICS_TOKEN: 'has a space in it, sadly' })).toThrow(/no spaces/);
  });

  it('is asked for at start when the service listens beyond loopback without it', () => {
    expect(startupWarnings(loadConfig({}))).toEqual([]);
    expect(startupWarnings(loadConfig({ HOST: '0.0.0.0' }))).toEqual([expect.stringMatching(/\/metrics is open .*METRICS_TOKEN/)]);
    expect(startupWarnings(loadConfig({ HOST: '0.0.0.0', METRICS_TOKEN: 'scrape-0123456789abcdef' }))).toEqual([]);
  });

  it('warns of a provider without JWT_AUDIENCE', () => {
    expect(startupWarnings(loadConfig({ JWT_JWKS_URL: 'https://id.example.test/jwks' }))).toEqual([expect.stringMatching(/JWT_AUDIENCE is not set/)]);
    expect(startupWarnings(loadConfig({ JWT_JWKS_URL: 'https://id.example.test/jwks', JWT_AUDIENCE: 'chat' }))).toEqual([]);
  });
});
