import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, Server } from 'node:net';
import * as path from 'node:path';
import { startCluster, TestCluster } from './support/pg-cluster';
import { freePort, ServiceProcess, spawnService } from './support/service-process';

/**
 * The built service started as an operator starts it, with a mistake: whatever the mistake,
 * it must print one plain line to stderr (no stack) and exit 1, leaving nothing running.
 */
describe('a start that cannot go on', () => {
  let dataDir: string;
  let nowhere: string;
  const started: ServiceProcess[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(process.env.PG_TEST_ROOT!, 'start-errors-'));
    // External databases on a port nothing listens on: no start here can run embedded
    // servers, and one that got past its settings would fail on them, not pass.
    nowhere = `postgres://chat:secret-password@127.0.0.1:${await freePort()}/dialogdb`;
  });

  afterAll(async () => {
    await Promise.all(started.map((p) => p.kill()));
    await rm(dataDir, { recursive: true, force: true });
  });

  async function start(env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const service = spawnService({ DATA_DIR: dataDir, DIALOG_DB_URL: nowhere, SHARD_URLS: nowhere, JWT_SECRET: 'test-secret', DB_CONNECT_TIMEOUT_MS: '1000', ...env });
    started.push(service);
    const code = await service.exited;
    return { code, stdout: service.stdout(), stderr: service.stderr() };
  }

  it.each([
    ['LOG_LEVEL=loud', { LOG_LEVEL: 'loud' }, 'LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent, got "loud"'],
    ['RING_LISTEN=maybe', { RING_LISTEN: 'maybe' }, 'RING_LISTEN must be on or off, got "maybe"'],
    ['PORT=eighty', { PORT: 'eighty' }, 'PORT must be an integer from 0 to 65535, got "eighty"'],
    ['JWT_MAX_TTL=forever', { JWT_MAX_TTL: 'forever' }, 'JWT_MAX_TTL must be a duration such as 1h or 24h, from 5m to 365d, got "forever"'],
  ])('%s: one line and exit 1', async (_name, env, message) => {
    const res = await start(env);
    expect(res).toEqual({ code: 1, stdout: '', stderr: `error: configuration: ${message}\n` });
  });

  it('a database it cannot reach: one line naming it, without its password', async () => {
    const res = await start({ LOG_LEVEL: 'silent' });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^error: cannot reach dialogdb at 127\.0\.0\.1:\d+\/dialogdb: connect ECONNREFUSED 127\.0\.0\.1:\d+\n$/);
    expect(res.stderr).not.toContain('secret-password');
    // Nothing embedded was started in its data directory.
    expect(await readdir(dataDir)).toEqual([]);
  });

  describe('with databases up', () => {
    let cluster: TestCluster;
    let taken: Server;
    let takenPort: number;

    beforeAll(async () => {
      cluster = await startCluster({ shards: 1 });
      taken = createServer();
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      takenPort = (taken.address() as { port: number }).port;
    });

    afterAll(async () => {
      await new Promise((resolve) => taken?.close(resolve));
      await cluster?.destroy();
    });

    const databases = () => ({ DIALOG_DB_URL: cluster.dialogDbUrl, SHARD_URLS: cluster.shardUrls.join(','), LOG_LEVEL: 'silent' });

    it('a port already taken: one line and exit 1', async () => {
      const res = await start({ ...databases(), PORT: String(takenPort) });
      expect(res).toEqual({
        code: 1,
        stdout: '',
        stderr: `error: configuration: cannot listen on 127.0.0.1:${takenPort} (HOST, PORT): listen EADDRINUSE: address already in use 127.0.0.1:${takenPort}\n`,
      });
    });

    it('an address this machine does not have: one line and exit 1', async () => {
      // TEST-NET-1 (RFC 5737): assigned to no host, so the bind fails without any traffic.
      const res = await start({ ...databases(), HOST: '192.0.2.1', PORT: String(await freePort()) });
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/^error: configuration: cannot listen on 192\.0\.2\.1:\d+ \(HOST, PORT\): listen EADDRNOTAVAIL: [^\n]*\n$/);
    });
  });
});
