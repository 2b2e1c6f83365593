import { PoolClient } from 'pg';
import { ReshardRunner } from '../src/reshard/reshard.runner';
import { RingService } from '../src/routing/ring.service';
import { ShardRegistry } from '../src/shards/shard-registry';
import { eventually } from './support/eventually';
import { startCluster, TestCluster } from './support/pg-cluster';
import { admin, countRows, FAST_RING, getJob, inSplitArc, readAll, waitForJob } from './support/reshard';
import { sql, startTestApp, TestApp } from './support/test-app';

/**
 * Instance A, and instance B whose shard pools hold one connection each, so the test can
 * hold B's requests between routing and SQL by holding that connection; a registered spare.
 */
function twoInstances(env: NodeJS.ProcessEnv) {
  const w = {} as { cluster: TestCluster; a: TestApp; b: TestApp; held?: PoolClient };
  beforeAll(async () => {
    w.cluster = await startCluster({ shards: 3 });
    const shared = { ...FAST_RING, SHARD_URLS: w.cluster.shardUrls.slice(0, 2).join(','), ...env };
    w.a = await startTestApp(w.cluster, shared);
    // Requests wait for the connection for as long as the test holds it, each its own
    // statement (no group commit), so the test can count them waiting.
    w.b = await startTestApp(w.cluster, { ...shared, SHARD_POOL_SIZE: '1', DB_CONNECT_TIMEOUT_MS: '60000', SEND_BATCH_MAX: '1' });
    // A drives the jobs. B's runner would also take a job its scan finds before A locks it, and
    // then wait for the shard connection the test holds: a job that never ends, not the case
    // under test (B is the instance whose requests are late, not the job's runner).
    await w.b.app.get(ReshardRunner).onApplicationShutdown();
    await w.a.http.post('/admin/shards').set(admin(w.a)).send({ name: 'shard-2', url: w.cluster.shardUrls[2] }).expect(201);
  });
  afterAll(async () => {
    w.held?.release();
    await w.b?.close();
    await w.a?.close();
    await w.cluster?.destroy();
  });
  return w;
}

/**
 * Two instances on the same databases. Instance B's requests are routed, then wait for a
 * shard connection (B's pool has one, and the test holds it) for longer than a whole split
 * takes, as they would in a long GC pause or a frozen VM. When they reach shard-0 at last,
 * the job is done and shard-0's copy of the arc deleted. Every write B acknowledges must be
 * readable through both instances, and no page B answers may miss a message.
 */
describe('a split while another instance holds requests between routing and SQL', () => {
  const w = twoInstances({});

  it('acknowledges no send, edit or delete that readers then miss', async () => {
    const dialogs: string[] = [];
    while (dialogs.length < 4) {
      const dialog = await w.a.http.post('/dialogs').set(w.a.auth('alice')).send({ participantIds: ['bob'] }).expect(201);
      if (inSplitArc(dialog.body.id)) dialogs.push(dialog.body.id);
    }
    const seeded: Array<{ dialogId: string; id: string }> = [];
    for (const dialogId of dialogs) {
      for (let m = 0; m < 2; m++) {
        const res = await w.a.http.post(`/dialogs/${dialogId}/messages`).set(w.a.auth('alice')).send({ text: `seed ${m}` }).expect(201);
        seeded.push({ dialogId, id: res.body.id });
      }
    }

    const pool = w.b.app.get(ShardRegistry).get('shard-0').pool;
    w.held = await pool.connect();
    // Each request is routed by B's ring (shard-0 owns the arc), then queues for the connection.
    const sends = dialogs.map((dialogId, i) =>
      w.b.http.post(`/dialogs/${dialogId}/messages`).set(w.b.auth('bob')).send({ text: `late ${i}`, clientMessageId: `late-${i}` }).then((res) => res),
    );
    const edit = w.b.http.patch(`/dialogs/${seeded[0].dialogId}/messages/${seeded[0].id}`).set(w.b.auth('alice')).send({ text: 'edited late' }).then((res) => res);
    const removal = w.b.http.delete(`/dialogs/${seeded[3].dialogId}/messages/${seeded[3].id}`).set(w.b.auth('alice')).then((res) => res);
    const page = w.b.http.get(`/dialogs/${seeded[5].dialogId}/messages`).set(w.b.auth('alice')).then((res) => res);
    await eventually(() => expect(pool.waitingCount).toBe(dialogs.length + 3));

    const job = await w.a.http.post('/admin/reshard').set(admin(w.a)).send({ split: 'shard-0' }).expect(202);
    const done = await waitForJob(w.a, job.body.id, (j) => ['done', 'failed'].includes(j.phase));
    expect(done.phase).toBe('done');
    expect(await sql(w.cluster.shardUrls[0], 'SELECT id FROM messages WHERE ring_hash >= 1073741823 AND ring_hash < 2147483647')).toEqual([]);

    w.held.release();
    w.held = undefined;
    const sent = await Promise.all(sends);
    for (const res of sent) expect(res.status).toBe(201);
    expect((await edit).status).toBe(200);
    expect((await removal).status).toBe(204);
    const pageRes = await page;
    expect(pageRes.status).toBe(200);
    // The page was read after the job, on the ring B reloaded: both seeded messages are in it.
    const seededThere = seeded.filter((s) => s.dialogId === seeded[5].dialogId).map((s) => s.id);
    expect(pageRes.body.items.map((m: { id: string }) => m.id)).toEqual(expect.arrayContaining(seededThere));

    for (const t of [w.a, w.b]) {
      for (const [i, dialogId] of dialogs.entries()) {
        const all = await readAll(t, dialogId);
        expect(all.filter((m) => m.id === sent[i].body.id)).toEqual([expect.objectContaining({ text: `late ${i}` })]);
      }
      expect((await readAll(t, seeded[0].dialogId)).find((m) => m.id === seeded[0].id)?.text).toBe('edited late');
      expect((await readAll(t, seeded[3].dialogId)).map((m) => m.id)).not.toContain(seeded[3].id);
    }
    // Retried now, each send is the same message: nothing was written twice either.
    for (const [i, dialogId] of dialogs.entries()) {
      const again = await w.a.http.post(`/dialogs/${dialogId}/messages`).set(w.a.auth('bob')).send({ text: 'x', clientMessageId: `late-${i}` }).expect(200);
      expect(again.body.id).toBe(sent[i].body.id);
    }
    expect(await sql(w.cluster.shardUrls[0], 'SELECT id FROM messages WHERE ring_hash >= 1073741823 AND ring_hash < 2147483647')).toEqual([]);
  });
});

/**
 * The same in the other direction: B routes a send to the target while writes go there, and
 * the send reaches the target only after a cancel has given the arc back to the source and
 * emptied the target. It must land on the source, not on the spare where nobody reads.
 */
describe('a cancel while another instance holds a send routed to the target', () => {
  const w = twoInstances({ RESHARD_BATCH: '10', RESHARD_MAX_ROWS_PER_SEC: '100' });

  it('lands the send on the source once the arc is back there', async () => {
    const dialogs: string[] = [];
    while (dialogs.length < 6) {
      const dialog = await w.a.http.post('/dialogs').set(w.a.auth('alice')).send({ participantIds: ['bob'] }).expect(201);
      if (inSplitArc(dialog.body.id)) dialogs.push(dialog.body.id);
    }
    for (const dialogId of dialogs) {
      for (let m = 0; m < 10; m++) await w.a.http.post(`/dialogs/${dialogId}/messages`).set(w.a.auth('alice')).send({ text: `seed ${m}` }).expect(201);
    }
    const job = (await w.a.http.post('/admin/reshard').set(admin(w.a)).send({ split: 'shard-0' }).expect(202)).body.id;
    const copying = await waitForJob(w.a, job, (j) => j.phase === 'copy' && j.copied > 0);
    const copyVersion = (copying.versions as Record<string, number>).copy;
    await eventually(() => expect(w.b.app.get(RingService).current().version).toBe(copyVersion));

    const pool = w.b.app.get(ShardRegistry).get('shard-2').pool;
    w.held = await pool.connect();
    const send = w.b.http.post(`/dialogs/${dialogs[0]}/messages`).set(w.b.auth('bob')).send({ text: 'routed to the target' }).then((res) => res);
    await eventually(() => expect(pool.waitingCount).toBe(1));

    await w.a.http.post(`/admin/reshard/${job}/cancel`).set(admin(w.a)).expect(202);
    const cancelled = await waitForJob(w.a, job, (j) => ['cancelled', 'failed', 'done'].includes(j.phase));
    expect(cancelled.phase).toBe('cancelled');
    expect(await countRows(w.cluster.shardUrls[2])).toBe(0);

    w.held.release();
    w.held = undefined;
    const res = await send;
    expect(res.status).toBe(201);
    for (const t of [w.a, w.b]) expect((await readAll(t, dialogs[0])).filter((m) => m.id === res.body.id)).toHaveLength(1);
    expect(await countRows(w.cluster.shardUrls[2])).toBe(0);
    expect((await getJob(w.a, job)).phase).toBe('cancelled');
  });
});
