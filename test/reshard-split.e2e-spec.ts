import { ringHash } from '../src/ring';
import { eventually } from './support/eventually';
import { withApiCheck } from './support/openapi';
import { startCluster, TestCluster } from './support/pg-cluster';
import { FAST_RING, servedArcs } from './support/reshard';
import { sql, startTestApp, TestApp } from './support/test-app';


describe('split a shard online', () => {
  let cluster: TestCluster;
  let t: TestApp;
  const admin = () => t.auth('ops', { admin: true });

  beforeAll(async () => {
    cluster = await startCluster({ shards: 3 });
    // shard-0 and shard-1 make the ring; the third server is a spare to split into.
    t = await withApiCheck(await startTestApp(cluster, { ...FAST_RING, RESHARD_BATCH: '50', SHARD_URLS: cluster.shardUrls.slice(0, 2).join(',') }));
  });

  afterAll(async () => {
    await t?.close();
    await cluster?.destroy();
  });

  async function counts(): Promise<number[]> {
    return Promise.all(
      cluster.shardUrls.map(async (url) => Number((await sql<{ n: string }>(url, 'SELECT count(*) AS n FROM messages'))[0].n)),
    );
  }

  it('moves exactly the dialogs of the new half-arc and leaves every other shard alone', async () => {
    const sent = new Map<string, string[]>();
    for (let d = 0; d < 40; d++) {
      const dialog = await t.http.post('/dialogs').set(t.auth('alice')).send({ participantIds: ['bob'] }).expect(201);
      const ids: string[] = [];
      for (let m = 0; m < 5; m++) {
        ids.unshift((await t.http.post(`/dialogs/${dialog.body.id}/messages`).set(t.auth('bob')).send({ text: `m${m}` }).expect(201)).body.id);
      }
      sent.set(dialog.body.id, ids);
    }
    const moving = [...sent.keys()].filter((id) => ringHash(id) >= 1073741823 && ringHash(id) < 2147483647);
    expect(moving.length).toBeGreaterThan(0);
    await t.http.post('/admin/shards').set(admin()).send({ name: 'shard-2', url: cluster.shardUrls[2] }).expect(201);
    const before = await counts();
    expect(before[2]).toBe(0);
    const started = await t.http.post('/admin/reshard').set(admin()).send({ split: 'shard-0' }).expect(202);
    expect(started.body).toEqual({ id: expect.any(String), phase: 'prepare' });

    const job = await eventually(
      async () => {
        const res = await t.http.get(`/admin/reshard/${started.body.id}`).set(admin()).expect(200);
        expect(res.body.phase).toBe('done');
        return res.body;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    expect(job).toMatchObject({ kind: 'split', source: 'shard-0', target: 'shard-2', copied: moving.length * 5, total: moving.length * 5, etaSeconds: 0 });
    expect(job.verification).toMatchObject({ passed: true, checked: moving.length * 5, missing: [], changed: [], extra: [] });
    expect(job.moved).toEqual([{ start: 1073741823, end: 2147483647, source: 'shard-0', target: 'shard-2' }]);

    const ring = await t.http.get('/admin/ring').set(admin()).expect(200);
    expect(ring.body.points).toEqual([
      { point: 0, shard: 'shard-0' },
      { point: 1073741823, shard: 'shard-2' },
      { point: 2147483647, shard: 'shard-1' },
    ]);
    const after = await counts();
    expect(after[1]).toBe(before[1]);
    expect(after[2]).toBe(moving.length * 5);
    expect(after[0]).toBe(before[0] - moving.length * 5);
    const [{ lo, hi }] = await sql<{ lo: string; hi: string }>(cluster.shardUrls[2], 'SELECT min(ring_hash) AS lo, max(ring_hash) AS hi FROM messages');
    expect(Number(lo)).toBeGreaterThanOrEqual(1073741823);
    expect(Number(hi)).toBeLessThan(2147483647);
    // Each shard serves exactly its arc of the new ring, and no other.
    expect(await servedArcs(cluster.shardUrls[0])).toEqual([{ from: 0, to: 1073741823, mode: 'owner' }]);
    expect(await servedArcs(cluster.shardUrls[2])).toEqual([{ from: 1073741823, to: 2147483647, mode: 'owner' }]);
    expect(await servedArcs(cluster.shardUrls[1])).toEqual([{ from: 2147483647, to: 4294967296, mode: 'owner' }]);

    for (const [dialogId, ids] of sent) {
      const page = await t.http.get(`/dialogs/${dialogId}/messages`).set(t.auth('alice')).expect(200);
      expect(page.body.items.map((m: { id: string }) => m.id)).toEqual(ids);
    }
    const shards = await t.http.get('/admin/shards').set(admin()).expect(200);
    expect(shards.body.map((s: { name: string; status: string }) => [s.name, s.status])).toEqual([
      ['shard-0', 'active'],
      ['shard-2', 'active'],
      ['shard-1', 'active'],
    ]);
  });
});
