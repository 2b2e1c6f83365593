import { JwtService } from '@nestjs/jwt';
import { ChildProcess, spawn } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import request from 'supertest';
import { eventually } from './support/eventually';
import { startCluster, TestCluster } from './support/pg-cluster';
import { inSplitArc } from './support/reshard';
import { sql } from './support/test-app';

const MAIN = path.resolve(__dirname, '../dist/src/main.js');

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

interface JobState {
  phase: string;
  copied: string;
  total: string | null;
  checkpoint: { segment: number; hash: string; id: string } | null;
  verification: { passed: boolean } | null;
}

/**
 * The process running the copier dies with SIGKILL mid-copy (no shutdown hook runs). A new
 * process picks the job up from its checkpoint: it does not start over, and it finishes
 * with verification passed.
 */
describe('a reshard whose process is killed mid-copy', () => {
  let cluster: TestCluster;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    cluster = await startCluster({ shards: 3 });
  });

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await cluster?.destroy();
  });

  async function startServer(): Promise<{ child: ChildProcess; api: ReturnType<typeof request> }> {
    const port = await freePort();
    const child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH,
        PORT: String(port),
        DIALOG_DB_URL: cluster.dialogDbUrl,
        SHARD_URLS: cluster.shardUrls.slice(0, 2).join(','),
        SPARE_SHARD_URLS: `shard-2=${cluster.shardUrls[2]}`,
        JWT_SECRET: 'test-secret',
        RING_POLL_MS: '200',
        HEARTBEAT_MS: '200',
        RING_LEASE_MS: '1000',
        RESHARD_BATCH: '20',
        RESHARD_MAX_ROWS_PER_SEC: '200',
        // One user opens dialogs until a dozen land in the split arc, and sends to them all.
        RATE_LIMIT_SENDS_PER_MIN: '0',
        RATE_LIMIT_DIALOGS_PER_MIN: '0',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(child);
    const api = request(`http://127.0.0.1:${port}`);
    await eventually(
      async () => {
        if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
        await api.get('/health').expect(200);
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    return { child, api };
  }

  const job = async (id: string): Promise<JobState> =>
    (await sql<JobState>(cluster.dialogDbUrl, 'SELECT phase, copied, total, checkpoint, verification FROM reshard_jobs WHERE id = $1', [id]))[0];

  it('resumes from its checkpoint after a restart and ends done', async () => {
    const jwt = new JwtService({ secret: 'test-secret', signOptions: { expiresIn: 3600 } });
    const user = { Authorization: `Bearer ${jwt.sign({ sub: 'alice' })}` };
    const ops = { Authorization: `Bearer ${jwt.sign({ sub: 'ops', role: 'admin' })}` };
    const first = await startServer();

    const arc: string[] = [];
    while (arc.length < 12) {
      const dialog = await first.api.post('/dialogs').set(user).send({ participantIds: ['bob'] }).expect(201);
      if (inSplitArc(dialog.body.id)) arc.push(dialog.body.id);
    }
    const sent = new Map<string, string[]>();
    for (const dialogId of arc) {
      const ids: string[] = [];
      for (let m = 0; m < 40; m++) ids.unshift((await first.api.post(`/dialogs/${dialogId}/messages`).set(user).send({ text: `m${m}` }).expect(201)).body.id);
      sent.set(dialogId, ids);
    }

    const started = await first.api.post('/admin/reshard').set(ops).send({ split: 'shard-0' }).expect(202);
    const id = started.body.id as string;
    await eventually(async () => expect(Number((await job(id)).copied)).toBeGreaterThanOrEqual(100), { timeoutMs: 30_000 });
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));
    const atKill = await job(id);
    expect(atKill.phase).toBe('copy');
    expect(Number(atKill.copied)).toBeLessThan(480);
    expect(atKill.checkpoint).not.toBeNull();

    const second = await startServer();
    const done = await eventually(
      async () => {
        const state = await job(id);
        expect(state.phase).toBe('done');
        return state;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    // copied grows with the checkpoint in one statement: starting over would count past the total.
    expect(Number(done.total)).toBe(480);
    expect(Number(done.copied)).toBe(480);
    expect(done.verification?.passed).toBe(true);
    const [{ n }] = await sql<{ n: string }>(cluster.shardUrls[2], 'SELECT count(*) AS n FROM messages');
    expect(Number(n)).toBe(480);
    for (const [dialogId, ids] of sent) {
      const page = await second.api.get(`/dialogs/${dialogId}/messages`).query({ limit: 200 }).set(user).expect(200);
      expect(page.body.items.map((m: { id: string }) => m.id)).toEqual(ids);
    }
    second.child.kill('SIGTERM');
    expect(await new Promise((resolve) => second.child.once('exit', (code) => resolve(code)))).toBe(0);
  });
});
