import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Client } from 'pg';
import { eventually } from './eventually';
import { startCluster, TestCluster } from './pg-cluster';
import { PgServer } from './pg-server';
import { isAlive, runningPostmasters } from './postmaster';

async function withClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const whoAmI = (url: string) =>
  withClient(url, async (c) => (await c.query('SELECT current_database() AS db, 1 + 1 AS two')).rows[0]);

function postmasterPid(server: PgServer): number {
  return Number(readFileSync(path.join(server.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
}

describe('Postgres test harness', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startCluster();
  });

  afterAll(async () => {
    await cluster?.destroy();
  });

  it('serves dialogdb and messagedb on separate servers', async () => {
    expect(cluster.shards).toHaveLength(2);
    expect(cluster.shardUrls).toHaveLength(2);
    const ports = [cluster.dialogdb, ...cluster.shards].map((s) => s.port);
    expect(new Set(ports).size).toBe(3);

    await expect(whoAmI(cluster.dialogDbUrl)).resolves.toEqual({ db: 'dialogdb', two: 2 });
    for (const url of cluster.shardUrls) {
      await expect(whoAmI(url)).resolves.toEqual({ db: 'messagedb', two: 2 });
    }
  });

  it('a stopped shard refuses connections at once and recovers, data intact, after restart', async () => {
    const [down, up] = cluster.shards;
    const [downUrl, upUrl] = cluster.shardUrls;
    await withClient(downUrl, (c) => c.query('CREATE TABLE survivor AS SELECT 42 AS answer'));

    await down.stop();
    await down.stop(); // idempotent

    const t0 = Date.now();
    await expect(whoAmI(downUrl)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(Date.now() - t0).toBeLessThan(1000);
    await expect(whoAmI(upUrl)).resolves.toEqual({ db: 'messagedb', two: 2 });

    await down.restart();
    expect(down.url('messagedb')).toBe(downUrl);
    const rows = await eventually(() => withClient(downUrl, async (c) => (await c.query('SELECT answer FROM survivor')).rows));
    expect(rows).toEqual([{ answer: 42 }]);
  });

  it('fails start with a clear error, without hanging, when the port is taken', async () => {
    const dataDir = path.join(process.env.PG_TEST_ROOT!, 'port-clash');
    const clash = PgServer.run({ dataDir, templateDir: process.env.PG_TEMPLATE_DIR, port: cluster.dialogdb.port });
    try {
      await expect(clash).rejects.toThrow(`did not start: port-clash: port ${cluster.dialogdb.port} is taken`);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
    // The failed attempt must not have disturbed the server that owns the port.
    await expect(whoAmI(cluster.dialogDbUrl)).resolves.toEqual({ db: 'dialogdb', two: 2 });
  });

  it('destroy stops every postmaster and removes the data dirs', async () => {
    const small = await startCluster({ shards: 1 });
    const servers = [small.dialogdb, ...small.shards];
    expect(servers).toHaveLength(2);
    const pids = servers.map(postmasterPid);
    expect(pids.every(isAlive)).toBe(true);

    await small.destroy();

    expect(pids.filter(isAlive)).toEqual([]);
    expect(servers.filter((s) => existsSync(s.dataDir))).toEqual([]);
    // Only the shared cluster of this file is still running under the root.
    const running = runningPostmasters(process.env.PG_TEST_ROOT!).map((p) => p.pid);
    expect(running.sort()).toEqual([cluster.dialogdb, ...cluster.shards].map(postmasterPid).sort());
  });
});

describe('eventually', () => {
  it('retries until fn passes and returns its value', async () => {
    let calls = 0;
    const value = await eventually(
      () => {
        calls++;
        expect(calls).toBeGreaterThanOrEqual(3);
        return 'done';
      },
      { intervalMs: 1 },
    );
    expect(value).toBe('done');
    expect(calls).toBe(3);
  });

  it('rethrows the last error on timeout', async () => {
    let calls = 0;
    const err = await eventually(
      () => {
        throw new Error(`attempt ${++calls}`);
      },
      { timeoutMs: 100, intervalMs: 10 },
    ).catch((e: Error) => e);
    expect(calls).toBeGreaterThan(1);
    expect(err).toEqual(new Error(`attempt ${calls}`));
  });
});
