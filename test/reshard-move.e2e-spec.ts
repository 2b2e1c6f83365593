import { startCluster, TestCluster } from './support/pg-cluster';
import { HarnessProvisioner } from './support/provisioner';
import { admin, countRows, FAST_RING, readAll, seed, waitForJob } from './support/reshard';
import { sql, startTestApp, TestApp } from './support/test-app';

describe("move a shard's whole arc to a fresh database", () => {
  let cluster: TestCluster;
  let provisioner: HarnessProvisioner;
  let t: TestApp;

  beforeAll(async () => {
    cluster = await startCluster({ shards: 2 });
    provisioner = new HarnessProvisioner();
    t = await startTestApp(cluster, { ...FAST_RING, RESHARD_BATCH: '40' }, provisioner);
  });

  afterAll(async () => {
    await t?.close();
    await provisioner?.destroy();
    await cluster?.destroy();
  });

  it('lands every row of the arc on the new database and retires the old one', async () => {
    const sent = await seed(t, 30, 4);
    const rowsOnShard1 = await countRows(cluster.shardUrls[1]);
    const rowsOnShard0 = await countRows(cluster.shardUrls[0]);
    expect(rowsOnShard1).toBeGreaterThan(0);

    await t.http.post('/admin/reshard').set(admin(t)).send({ move: 'shard-1' }).expect(400);
    const started = await t.http.post('/admin/reshard').set(admin(t)).send({ move: 'shard-1', to: 'fresh-1' }).expect(202);
    const job = await waitForJob(t, started.body.id, (j) => ['done', 'failed'].includes(j.phase));
    expect(job).toMatchObject({ phase: 'done', kind: 'move', source: 'shard-1', target: 'fresh-1', copied: rowsOnShard1, total: rowsOnShard1 });
    expect(job.moved).toEqual([{ start: 2147483647, end: 0, source: 'shard-1', target: 'fresh-1' }]);

    const ring = await t.http.get('/admin/ring').set(admin(t)).expect(200);
    expect(ring.body.points).toEqual([
      { point: 0, shard: 'shard-0' },
      { point: 2147483647, shard: 'fresh-1' },
    ]);
    const fresh = provisioner.servers.get('fresh-1')!.url('messagedb');
    expect(await countRows(fresh)).toBe(rowsOnShard1);
    expect(await countRows(cluster.shardUrls[0])).toBe(rowsOnShard0);
    expect(provisioner.retired).toEqual(['shard-1']);
    const shards = await t.http.get('/admin/shards').set(admin(t)).expect(200);
    expect(shards.body.map((s: { name: string }) => s.name)).toEqual(['shard-0', 'fresh-1']);
    const [registry] = await sql<{ status: string }>(cluster.dialogDbUrl, `SELECT status FROM shards WHERE name = 'shard-1'`);
    expect(registry.status).toBe('retired');
    // Retired, not wiped: the old database keeps its rows for the operator to drop.
    expect(await countRows(cluster.shardUrls[1])).toBe(rowsOnShard1);

    for (const [dialogId, ids] of sent) expect((await readAll(t, dialogId)).map((m) => m.id)).toEqual(ids);
    // A split with no spare registered asks the provisioner for a database named after the next free shard-N.
    const split = await t.http.post('/admin/reshard').set(admin(t)).send({ split: 'shard-0' }).expect(202);
    expect((await waitForJob(t, split.body.id, (j) => ['done', 'failed'].includes(j.phase))).target).toBe('shard-2');
  });

  it('refuses what cannot be done, with a clear 4xx', async () => {
    const bad = async (body: object, status: number, message: RegExp) => {
      const res = await t.http.post('/admin/reshard').set(admin(t)).send(body).expect(status);
      expect(res.body.message).toMatch(message);
    };
    await bad({}, 400, /exactly one/);
    await bad({ split: 'shard-0', move: 'shard-0', to: 'x' }, 400, /exactly one/);
    await bad({ split: 'nope' }, 404, /not on the ring/);
    await bad({ split: 'Bad Name!' }, 400, /shard names/);
    await bad({ move: 'shard-0', to: 'shard-0' }, 409, /already owns an arc/);
    await t.http.get('/admin/reshard/00000000-0000-4000-8000-000000000000').set(admin(t)).expect(404);
    await t.http.get('/admin/reshard/nope').set(admin(t)).expect(400);
    await t.http.post('/admin/reshard').set(t.auth('alice')).send({ split: 'shard-0' }).expect(403);
    const unreachable = await t.http.post('/admin/shards').set(admin(t)).send({ name: 'ghost', url: 'postgres://postgres:postgres@127.0.0.1:1/messagedb' }).expect(422);
    expect(unreachable.body.message).toMatch(/cannot connect/);
    await t.http.post('/admin/shards').set(admin(t)).send({ name: 'shard-0', url: cluster.shardUrls[0] }).expect(409);
  });
});
