import { createLogger } from '../src/observability/logging';
import { ReshardRunner } from '../src/reshard/reshard.runner';
import { RingService } from '../src/routing/ring.service';
import { eventually } from './support/eventually';
import { startCluster, TestCluster } from './support/pg-cluster';
import { admin, FAST_RING, seed, waitForJob } from './support/reshard';
import { sql, startTestApp, TestApp } from './support/test-app';

/**
 * Instance A drives a split and serves no traffic of its own; instance B serves all of it,
 * with a target it cannot meet. A job paced by its own instance alone would see no live
 * traffic and run flat out; it must give way because B says it suffers.
 */
describe('a reshard paced by the instances that serve the traffic', () => {
  let cluster: TestCluster;
  let a: TestApp;
  let b: TestApp;
  const logged: string[] = [];

  beforeAll(async () => {
    cluster = await startCluster({ shards: 4 });
    // Slow enough that the job lasts for several judgements of its pace.
    const shared = { ...FAST_RING, SHARD_URLS: cluster.shardUrls.slice(0, 2).join(','), RESHARD_BATCH: '5', RESHARD_MAX_ROWS_PER_SEC: '10' };
    // Every request B serves takes longer than 1 ms: B is over its target while it has traffic.
    b = await startTestApp(cluster, { ...shared, RESHARD_LATENCY_TARGET_MS: '1' });
    // After B: Nest's logger is one per process, the last app's.
    a = await startTestApp(cluster, shared, null, createLogger('info', { write: (line: string) => void logged.push(line) }));
    // A drives the job, whichever runner would find it first.
    await b.app.get(ReshardRunner).onApplicationShutdown();
    await a.http.post('/admin/shards').set(admin(a)).send({ name: 'shard-2', url: cluster.shardUrls[2] }).expect(201);
  });

  afterAll(async () => {
    await b?.close();
    await a?.close();
    await cluster?.destroy();
  });

  it("holds the job's share of time down while another instance reports its live p99 over target", async () => {
    const dialogs = [...(await seed(b, 24, 10)).keys()];
    let reading = true;
    const load = (async () => {
      for (let i = 0; reading; i++) {
        await b.http.get(`/dialogs/${dialogs[i % dialogs.length]}/messages`).set(b.auth('alice')).expect(200);
      }
    })();
    try {
      const id = (await a.http.post('/admin/reshard').set(admin(a)).send({ split: 'shard-0' }).expect(202)).body.id as string;
      const bId = b.app.get(RingService).instanceId;
      const strained = await eventually(
        async () => {
          const [row] = await sql<{ strained: boolean; live_p99_ms: number | null }>(cluster.dialogDbUrl, 'SELECT strained, live_p99_ms FROM instances WHERE id = $1', [bId]);
          expect(row).toMatchObject({ strained: true });
          return row;
        },
        { timeoutMs: 20_000, intervalMs: 100 },
      );
      expect(strained.live_p99_ms).toBeGreaterThan(1);
      // A itself has no live requests: only B's report can hold the job back.
      await eventually(() => expect(logged.join('\n')).toMatch(new RegExp(`reshard ${id}: \\w+ (starts at|now takes) \\d+ % of the time \\(live p99 too few requests, .*over target on ${bId}\\)`)), {
        timeoutMs: 30_000,
        intervalMs: 100,
      });
      reading = false;
      await load;
      const job = await waitForJob(a, id, (j) => j.phase === 'done');
      expect(job.verification?.passed).toBe(true);
    } finally {
      reading = false;
      await load.catch(() => undefined);
    }
  });

  it('stops giving way to an instance that said it was over target and then died', async () => {
    // An instance that reports itself strained with every heartbeat, serving the newest ring
    // (so the job's barrier does not wait for it), until it stops: as a killed process does.
    const dead = 'instance-killed-while-strained';
    const beat = () =>
      sql(
        cluster.dialogDbUrl,
        `INSERT INTO instances (id, ring_version, heartbeat_at, lease_ms, live_p99_ms, strained)
         SELECT $1, max(version), now(), 1000, 500, true FROM ring_versions
         ON CONFLICT (id) DO UPDATE SET ring_version = EXCLUDED.ring_version, heartbeat_at = now()`,
        [dead],
      );
    await beat();
    let alive = true;
    const heart = (async () => {
      while (alive) {
        await beat();
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    try {
      await a.http.post('/admin/shards').set(admin(a)).send({ name: 'shard-3', url: cluster.shardUrls[3] }).expect(201);
      const id = (await a.http.post('/admin/reshard').set(admin(a)).send({ split: 'shard-1' }).expect(202)).body.id as string;
      await eventually(() => expect(logged.join('\n')).toMatch(new RegExp(`reshard ${id}: \\w+ (starts at|now takes) 5 % of the time \\(.*over target on ${dead}\\)`)), {
        timeoutMs: 30_000,
        intervalMs: 100,
      });
      alive = false;
      await heart;
      // Past twice its lease the dead instance no longer counts; nobody else has traffic.
      await eventually(() => expect(logged.join('\n')).toMatch(new RegExp(`reshard ${id}: \\w+ (starts at|now takes) 100 % of the time \\(live p99 too few requests, [^;)]*; event loop \\d+ % busy\\)`)), {
        timeoutMs: 30_000,
        intervalMs: 100,
      });
      expect((await waitForJob(a, id, (j) => j.phase === 'done')).verification?.passed).toBe(true);
    } finally {
      alive = false;
      await heart;
    }
  });
});
