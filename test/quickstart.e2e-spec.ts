import { ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { eventually } from './support/eventually';
import { checkedAgentOf } from './support/openapi';
import { inSplitArc } from './support/reshard';

const ROOT = path.resolve(__dirname, '..');
const MAIN = path.join(ROOT, 'dist/src/main.js');
const CLI = path.join(ROOT, 'dist/src/cli.js');

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The README's quick start for real: the built service with no database configuration
 * starts its own Postgres servers, serves, stops them on SIGTERM, and a second start
 * finds the same data. (`npm test` builds first; see "pretest".)
 */
describe('npm start on the embedded default', () => {
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let server: ChildProcess | undefined;
  let output = '';

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(process.env.PG_TEST_ROOT!, 'quickstart-'));
    env = {
      PATH: process.env.PATH,
      DATA_DIR: dataDir,
      PORT: String(await freePort()),
      // Away from the default 54320 so a developer's own `npm start` is not disturbed.
      EMBEDDED_PG_PORT: String(20000 + Math.floor(Math.random() * 30000)),
    };
  });

  afterAll(async () => {
    if (server && server.exitCode === null) await stop(server);
  });

  async function start(): Promise<ChildProcess> {
    const child = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    await eventually(
      async () => {
        if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}:\n${output}`);
        await request(`http://127.0.0.1:${env.PORT}`).get('/health').expect(200);
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    return child;
  }

  async function stop(child: ChildProcess): Promise<number | null> {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    return exited;
  }

  async function postgresUnder(dir: string): Promise<string[]> {
    const { stdout } = await promisify(execFile)('pgrep', ['-af', dir]).catch(() => ({ stdout: '' }));
    return stdout.split('\n').filter((line) => line.includes('postgres'));
  }

  it('serves with its own Postgres servers, splits a shard onto a new one, and keeps it all across restarts', async () => {
    server = await start();
    expect(output).toMatch(/serving on http:\/\/127\.0\.0\.1:/);
    expect(output).toMatch(/npm run -s cli -- token/);
    const cli = async (...args: string[]) => (await promisify(execFile)(process.execPath, [CLI, ...args], { env })).stdout.trim();
    const api = await checkedAgentOf(request(`http://127.0.0.1:${env.PORT}`));
    const auth = { Authorization: `Bearer ${await cli('token', 'alice')}` };
    const ops = { Authorization: `Bearer ${await cli('token', 'ops', '--admin')}` };
    // The README's way to the state page: a viewer token opens it, and nothing else.
    const viewer = await cli('token', 'ops', '--viewer');
    await api.get('/state').query({ token: viewer }).expect(200);
    await api.get('/admin/shards').set({ Authorization: `Bearer ${viewer}` }).expect(403);
    await expect(cli('token', 'ops', '--admin', '--viewer')).rejects.toThrow(/exclude each other/);

    const health = await api.get('/health').expect(200);
    expect(health.body.databases).toEqual({ dialogdb: 'up', 'shard-0': 'up', 'shard-1': 'up' });
    // A dialog in the half of shard-0's arc that a split moves.
    let dialogId: string;
    do {
      dialogId = (await api.post('/dialogs').set(auth).send({ participantIds: ['bob'] }).expect(201)).body.id;
    } while (!inSplitArc(dialogId));
    const sent = await api.post(`/dialogs/${dialogId}/messages`).set(auth).send({ text: 'survives a restart' }).expect(201);

    // With no spare registered, the embedded default starts a new Postgres server for the split.
    const job = await api.post('/admin/reshard').set(ops).send({ split: 'shard-0' }).expect(202);
    const done = await eventually(
      async () => {
        const res = await api.get(`/admin/reshard/${job.body.id}`).set(ops).expect(200);
        expect(res.body.phase).toBe('done');
        return res.body;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    expect(done).toMatchObject({ target: 'shard-2', copied: 1, verification: { passed: true } });

    expect(await stop(server)).toBe(0);
    expect(await postgresUnder(dataDir)).toEqual([]);

    server = await start();
    const after = await api.get('/health').expect(200);
    expect(after.body.databases).toEqual({ dialogdb: 'up', 'shard-0': 'up', 'shard-1': 'up', 'shard-2': 'up' });
    const route = await api.get(`/admin/route/${dialogId}`).set(ops).expect(200);
    expect(route.body.shard).toBe('shard-2');
    const list = await api.get(`/dialogs/${dialogId}/messages`).set(auth).expect(200);
    expect(list.body.items.map((m: { text: string }) => m.text)).toEqual(['survives a restart']);
    // The coalesced activity update was flushed on SIGTERM, before the servers stopped.
    const dialogs = await api.get('/dialogs').set(auth).expect(200);
    expect(dialogs.body.items.find((d: { id: string }) => d.id === dialogId).lastActivityAt).toBe(sent.body.createdAt);
    expect(await stop(server)).toBe(0);
    expect(await postgresUnder(dataDir)).toEqual([]);
    // Two starts (up to 90 s each above) and a split: jest's default 60 s cut the test short
    // on a loaded two-core machine, as npm-start.e2e-spec.ts's own cap already allows for.
  }, 180_000);
});
