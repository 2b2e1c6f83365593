import { ConfigError, externalShards, formatDuration, loadConfig, parseDuration } from './app-config';

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
  ])('rejects %s', (_name, env) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
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
