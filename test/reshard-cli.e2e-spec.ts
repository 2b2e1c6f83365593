import { ChildProcess, spawn } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { Client } from 'pg';
import { ringHash } from '../src/ring';
import { eventually } from './support/eventually';
import { startCluster, TestCluster } from './support/pg-cluster';
import { sql, startTestApp, TestApp } from './support/test-app';

const CLI = path.resolve(__dirname, '..', 'dist/src/cli.js');
const FAST_RING = { RING_POLL_MS: '200', HEARTBEAT_MS: '200', RING_LEASE_MS: '2000', RESHARD_BATCH: '50' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Run {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<number | null>;
}

/**
 * The built CLI, as an operator runs it next to `npm start`: its own process, talking to
 * the service over HTTP. Build first (`npm test` does; see "pretest").
 */
describe('reshard CLI against the running service', () => {
  let cluster: TestCluster;
  let t: TestApp;
  let env: NodeJS.ProcessEnv;
  const running: ChildProcess[] = [];
  const admin = () => t.auth('ops', { admin: true });

  beforeAll(async () => {
    cluster = await startCluster({ shards: 3 });
    t = await startTestApp(cluster, { ...FAST_RING, SHARD_URLS: cluster.shardUrls.slice(0, 2).join(',') });
    await t.app.listen(0, '127.0.0.1');
    const { port } = t.app.getHttpServer().address() as net.AddressInfo;
    env = { PATH: process.env.PATH, JWT_SECRET: 'test-secret', API_URL: `http://127.0.0.1:${port}` };
  });

  afterAll(async () => {
    for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await t?.close();
    await cluster?.destroy();
  });

  function start(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Run {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    running.push(child);
    const run: Run = {
      child,
      stdout: '',
      stderr: '',
      exited: new Promise((resolve, reject) => {
        child.once('error', reject);
        child.once('close', (code) => resolve(code));
      }),
    };
    child.stdout!.on('data', (chunk) => (run.stdout += chunk));
    child.stderr!.on('data', (chunk) => (run.stderr += chunk));
    return run;
  }

  async function cli(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const run = start(args, extraEnv);
    const code = await run.exited;
    return { code, stdout: run.stdout, stderr: run.stderr };
  }

  async function job(id: string): Promise<{ phase: string; cancelRequested: boolean; copied: number }> {
    return (await t.http.get(`/admin/reshard/${id}`).set(admin()).expect(200)).body;
  }

  async function ringShards(): Promise<string[]> {
    return (await t.http.get('/admin/ring').set(admin()).expect(200)).body.points.map((p: { shard: string }) => p.shard);
  }

  const inMovedArc = (dialogId: string) => ringHash(dialogId) >= 1073741823 && ringHash(dialogId) < 2147483647;
  let moving = 0;

  it('registers a spare database with `shard add`, and reports an API error on stderr', async () => {
    const added = await cli(['shard', 'add', 'shard-2', cluster.shardUrls[2]]);
    expect(added).toMatchObject({ code: 0, stdout: 'shard-2 registered (pending: a spare on no arc yet)\n' });
    expect(added.stderr).not.toContain('postgres://');

    const again = await cli(['shard', 'add', 'shard-2', cluster.shardUrls[2]]);
    expect(again).toMatchObject({ code: 1, stdout: '', stderr: 'error: shard shard-2 is already registered\n' });
  });

  it('seeds dialogs through the API', async () => {
    for (let d = 0; d < 16 || moving === 0; d++) {
      const dialog = await t.http.post('/dialogs').set(t.auth('alice')).send({ participantIds: ['bob'] }).expect(201);
      for (let m = 0; m < 3; m++) {
        await t.http.post(`/dialogs/${dialog.body.id}/messages`).set(t.auth('bob')).send({ text: `m${m}` }).expect(201);
      }
      if (inMovedArc(dialog.body.id)) moving += 3;
    }
    expect(moving).toBeGreaterThan(0);
  });

  it('stops following on Ctrl-C without cancelling, and `reshard cancel` then rolls the job back', async () => {
    // Holding the target's table keeps the copier on its first batch for as long as this
    // test needs, so it can interrupt and cancel during the copy without racing the job.
    const hold = new Client({ connectionString: cluster.shardUrls[2] });
    await hold.connect();
    try {
      await hold.query('BEGIN');
      await hold.query('LOCK TABLE messages IN EXCLUSIVE MODE');

      const follow = start(['reshard', 'split', 'shard-0']);
      await eventually(() => expect(follow.stderr).toMatch(new RegExp(`^copy: 0/${moving} rows$`, 'm')), { timeoutMs: 30_000, intervalMs: 50 });
      const id = follow.stdout.trim();
      expect(id).toMatch(UUID);
      follow.child.kill('SIGINT');
      expect(await follow.exited).toBe(130);
      expect(follow.stdout).toBe(`${id}\n`);
      expect(follow.stderr).toContain(`stopped following; reshard ${id} keeps running in the service (Ctrl-C does not cancel it)`);
      expect(follow.stderr).toContain(`npm run -s cli -- reshard status ${id}`);
      expect(follow.stderr).toContain(`npm run -s cli -- reshard cancel ${id}`);
      expect(await job(id)).toMatchObject({ phase: 'copy', cancelRequested: false });

      const cancel = start(['reshard', 'cancel', id]);
      await eventually(() => expect(cancel.stderr).toContain(`cancel requested for reshard ${id} (in phase copy)`), { timeoutMs: 30_000 });
      await hold.query('ROLLBACK');
      const code = await cancel.exited;
      expect({ code, stderr: cancel.stderr }).toMatchObject({ code: 0, stderr: expect.stringContaining('cancelled: the old ring is back and shard-0 holds the moved arc again\n') });
      expect(cancel.stdout).toBe('');
      expect(await job(id)).toMatchObject({ phase: 'cancelled' });
      expect(await ringShards()).toEqual(['shard-0', 'shard-1']);
    } finally {
      await hold.end();
    }
  });

  let splitId: string;

  it('splits shard-0 and follows the job through every phase to a passed verification', async () => {
    const { code, stdout, stderr } = await cli(['reshard', 'split', 'shard-0']);
    expect({ code, stderr }).toMatchObject({ code: 0 });
    splitId = stdout.trim();
    expect(stdout).toBe(`${splitId}\n`);
    expect(splitId).toMatch(UUID);

    const lines = stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(`reshard ${splitId}: split shard-0 → shard-2`);
    // Every phase is named, even one shorter than a poll: the log reads the job's own record.
    const named = lines.slice(1, -3).map((line) => line.split(':')[0]);
    expect([...new Set(named)]).toEqual(['prepare', 'copy', 'verify', 'cutover', 'cleanup']);
    expect(lines.slice(-3)).toEqual([
      `reshard ${splitId}: split shard-0 → shard-2`,
      expect.stringMatching(new RegExp(`^done in (under 1 s|\\d+ s): ${moving} rows copied to shard-2$`)),
      `verification passed: ${moving} rows checked, no differences`,
    ]);
    expect(await ringShards()).toEqual(['shard-0', 'shard-2', 'shard-1']);
    const [{ n }] = await sql<{ n: string }>(cluster.shardUrls[2], 'SELECT count(*) AS n FROM messages');
    expect(Number(n)).toBe(moving);
  });

  it('prints a job with `reshard status`, as JSON with --json', async () => {
    const [json, human] = await Promise.all([cli(['reshard', 'status', splitId, '--json']), cli(['reshard', 'status', splitId])]);
    expect(json).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(json.stdout)).toMatchObject({ id: splitId, phase: 'done', copied: moving, total: moving, verification: { passed: true } });

    expect(human).toMatchObject({ code: 0, stderr: '' });
    expect(human.stdout).toContain('phase:    done\n');
    expect(human.stdout).toContain(`verification passed: ${moving} rows checked, no differences\n`);
  });

  it('fails with `error:` on stderr for an id that is not a UUID and for an unknown one', async () => {
    const unknown = '019aa000-0000-7000-8000-000000000000';
    const [malformed, missing] = await Promise.all([cli(['reshard', 'status', 'not-a-uuid']), cli(['reshard', 'status', unknown])]);
    expect(malformed).toEqual({ code: 1, stdout: '', stderr: 'error: reshard id must be a UUID\n' });
    expect(missing).toEqual({ code: 1, stdout: '', stderr: `error: reshard ${unknown} not found\n` });
  });

  it('lists recent jobs one line each, newest first', async () => {
    const { code, stdout, stderr } = await cli(['reshard', 'list']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const lines = stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^${splitId}  \\S+  split shard-0 → shard-2  done  ${moving}/${moving} rows  verified$`));
    expect(lines[1]).toMatch(/  split shard-0 → shard-2  cancelled  /);
  });

  it('with --detach prints only the job id and leaves the job to the service', async () => {
    await sql(cluster.shards[2].url('postgres'), 'CREATE DATABASE spare');
    const spareUrl = cluster.shards[2].url('spare');
    expect((await cli(['shard', 'add', 'shard-3', spareUrl])).code).toBe(0);

    const { code, stdout, stderr } = await cli(['reshard', 'move', 'shard-1', '--to', 'shard-3', '--detach']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toMatch(new RegExp(UUID.source.replace('$', '\\n$')));
    const id = stdout.trim();
    await eventually(async () => expect((await job(id)).phase).toBe('done'), { timeoutMs: 30_000, intervalMs: 200 });
    expect(await ringShards()).toEqual(['shard-0', 'shard-2', 'shard-3']);
  });

  it('without --api or API_URL, reaches the service on the port the configuration reads from PORT', async () => {
    const { port } = t.app.getHttpServer().address() as net.AddressInfo;
    const listed = await cli(['reshard', 'list', '--json'], { API_URL: undefined, PORT: String(port) });
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    expect(Array.isArray(JSON.parse(listed.stdout))).toBe(true);

    // A PORT the service would refuse is refused here too, in the configuration's words.
    const refused = await cli(['reshard', 'list'], { API_URL: undefined, PORT: 'eighty' });
    expect(refused).toEqual({ code: 1, stdout: '', stderr: 'error: configuration: PORT must be an integer from 0 to 65535, got "eighty"\n' });
  });

  it('names the URL when the API cannot be reached', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const { code, stdout, stderr } = await cli(['reshard', 'list'], { API_URL: `http://127.0.0.1:${port}` });
    expect({ code, stdout }).toEqual({ code: 1, stdout: '' });
    expect(stderr).toMatch(new RegExp(`^error: cannot reach the API at http://127\\.0\\.0\\.1:${port}: connection refused`));
  });
});
