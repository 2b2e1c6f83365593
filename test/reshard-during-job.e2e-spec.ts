import { v7 as uuidv7 } from 'uuid';
import { ringHash } from '../src/ring';
import { eventually } from './support/eventually';
import { TestCluster } from './support/pg-cluster';
import { admin, countRows, getJob, inSplitArc, readAll, servedArcs, startCrawlingSplit, waitForJob } from './support/reshard';
import { sql, TestApp } from './support/test-app';

/**
 * Writes during a split, while the copier is held to a crawl so the job sits in its copy
 * phase: edits, deletes and retries must survive cutover, a cancel must put everything
 * back on the source, and tampering with the target must stop the cutover.
 */
describe('a split with traffic during the copy', () => {
  let cluster: TestCluster;
  let t: TestApp;
  /** Dialogs in the arc that moves, each with its seeded message ids in ring_hash order of the dialog. */
  let arcDialogs: string[];

  beforeEach(async () => {
    ({ cluster, t } = await startCrawlingSplit());
    arcDialogs = [];
    while (arcDialogs.length < 24) {
      const dialog = await t.http.post('/dialogs').set(t.auth('alice')).send({ participantIds: ['bob'] }).expect(201);
      if (inSplitArc(dialog.body.id)) arcDialogs.push(dialog.body.id);
    }
    // Dialogs sorted by hash: the copier walks (ring_hash, id), so the first is copied first.
    arcDialogs.sort((a, b) => ringHash(a) - ringHash(b));
    for (const dialogId of arcDialogs) {
      for (let m = 0; m < 10; m++) {
        await t.http.post(`/dialogs/${dialogId}/messages`).set(t.auth('alice')).send({ text: `seed ${m}` }).expect(201);
      }
    }
  });

  afterEach(async () => {
    await t?.close();
    await cluster?.destroy();
  });

  async function split(): Promise<string> {
    const res = await t.http.post('/admin/reshard').set(admin(t)).send({ split: 'shard-0' }).expect(202);
    await waitForJob(t, res.body.id, (job) => job.phase === 'copy' && job.copied > 0);
    return res.body.id;
  }

  const onShard = async (shard: number, id: string) =>
    sql<{ text: string; deleted_at: Date | null }>(cluster.shardUrls[shard], 'SELECT text, deleted_at FROM messages WHERE id = $1', [id]);

  it('keeps edits, deletes and idempotent retries made during the job, with no duplicate and no resurrection', async () => {
    const first = arcDialogs[0];
    const last = arcDialogs[arcDialogs.length - 1];
    const retried = arcDialogs[5];
    const before = await t.http.post(`/dialogs/${retried}/messages`).set(t.auth('bob')).send({ text: 'once', clientMessageId: 'k-before' }).expect(201);

    const jobId = await split();
    const lastMessage = (await readAll(t, last))[0];
    // Not copied yet, so the edit has to copy it to the target first.
    expect(await onShard(2, lastMessage.id)).toEqual([]);
    await t.http.patch(`/dialogs/${last}/messages/${lastMessage.id}`).set(t.auth('alice')).send({ text: 'edited during copy' }).expect(200);

    const firstMessage = (await readAll(t, first))[0];
    await eventually(async () => expect(await onShard(2, firstMessage.id)).toHaveLength(1));
    await t.http.delete(`/dialogs/${first}/messages/${firstMessage.id}`).set(t.auth('alice')).expect(204);

    const retry = await t.http.post(`/dialogs/${retried}/messages`).set(t.auth('bob')).send({ text: 'once', clientMessageId: 'k-before' }).expect(200);
    expect(retry.body.id).toBe(before.body.id);
    const during = await t.http.post(`/dialogs/${retried}/messages`).set(t.auth('bob')).send({ text: 'new', clientMessageId: 'k-during' }).expect(201);
    expect((await t.http.post(`/dialogs/${retried}/messages`).set(t.auth('bob')).send({ text: 'new', clientMessageId: 'k-during' }).expect(200)).body.id).toBe(
      during.body.id,
    );
    expect((await getJob(t, jobId)).phase).toBe('copy');

    const done = await waitForJob(t, jobId, (job) => ['done', 'failed'].includes(job.phase));
    expect(done.phase).toBe('done');
    expect(done.verification?.passed).toBe(true);

    for (const key of ['k-before', 'k-during']) {
      const again = await t.http.post(`/dialogs/${retried}/messages`).set(t.auth('bob')).send({ text: 'x', clientMessageId: key }).expect(200);
      expect(again.body.id).toBe(key === 'k-before' ? before.body.id : during.body.id);
    }
    const lastNow = await readAll(t, last);
    expect(lastNow.find((m) => m.id === lastMessage.id)?.text).toBe('edited during copy');
    const firstNow = await readAll(t, first);
    expect(firstNow.map((m) => m.id)).not.toContain(firstMessage.id);
    expect(firstNow).toHaveLength(9);
    const retriedNow = (await readAll(t, retried)).map((m) => m.id);
    expect(retriedNow.filter((id) => id === before.body.id)).toHaveLength(1);
    expect(retriedNow.filter((id) => id === during.body.id)).toHaveLength(1);
    expect(retriedNow).toHaveLength(12);
    expect([...retriedNow].sort().reverse()).toEqual(retriedNow);

    // The tombstone moved with the dialog; the source kept nothing of the arc.
    expect(await onShard(2, firstMessage.id)).toEqual([{ text: '', deleted_at: expect.any(Date) }]);
    const leftOnSource = await sql(cluster.shardUrls[0], 'SELECT 1 FROM messages WHERE ring_hash >= 1073741823 AND ring_hash < 2147483647');
    expect(leftOnSource).toEqual([]);
  });

  it('cancel mid-copy restores the old ring with everything written during the job on the source', async () => {
    const jobId = await split();
    const sentDuring: Array<[string, string]> = [];
    for (const dialogId of arcDialogs.slice(0, 3)) {
      const res = await t.http.post(`/dialogs/${dialogId}/messages`).set(t.auth('bob')).send({ text: 'during the job' }).expect(201);
      sentDuring.push([dialogId, res.body.id]);
      expect(await onShard(2, res.body.id)).toHaveLength(1);
    }
    const edited = (await readAll(t, arcDialogs[10]))[3];
    await t.http.patch(`/dialogs/${arcDialogs[10]}/messages/${edited.id}`).set(t.auth('alice')).send({ text: 'edited, then cancelled' }).expect(200);
    const deleted = (await readAll(t, arcDialogs[20]))[0];
    await t.http.delete(`/dialogs/${arcDialogs[20]}/messages/${deleted.id}`).set(t.auth('alice')).expect(204);

    await t.http.post(`/admin/reshard/${jobId}/cancel`).set(admin(t)).expect(202);
    const cancelled = await waitForJob(t, jobId, (job) => ['cancelled', 'failed', 'done'].includes(job.phase));
    expect(cancelled.phase).toBe('cancelled');

    const ring = await t.http.get('/admin/ring').set(admin(t)).expect(200);
    expect(ring.body.points).toEqual([
      { point: 0, shard: 'shard-0' },
      { point: 2147483647, shard: 'shard-1' },
    ]);
    const route = await t.http.get(`/admin/route/${arcDialogs[0]}`).set(admin(t)).expect(200);
    expect(route.body).toMatchObject({ shard: 'shard-0', reads: ['shard-0'] });

    for (const [, id] of sentDuring) expect(await onShard(0, id)).toEqual([{ text: 'during the job', deleted_at: null }]);
    expect(await onShard(0, edited.id)).toEqual([{ text: 'edited, then cancelled', deleted_at: null }]);
    expect(await onShard(0, deleted.id)).toEqual([{ text: '', deleted_at: expect.any(Date) }]);
    expect(await countRows(cluster.shardUrls[2])).toBe(0);
    // The source serves its whole arc again; the spare serves nothing.
    expect(await servedArcs(cluster.shardUrls[0])).toEqual([{ from: 0, to: 2147483647, mode: 'owner' }]);
    expect(await servedArcs(cluster.shardUrls[2])).toEqual([]);
    const shards = await t.http.get('/admin/shards').set(admin(t)).expect(200);
    expect(shards.body.find((s: { name: string }) => s.name === 'shard-2')).toMatchObject({ status: 'pending', point: null, rows: 0 });

    for (const [dialogId, id] of sentDuring) expect((await readAll(t, dialogId)).map((m) => m.id)).toContain(id);
    expect((await readAll(t, arcDialogs[10])).find((m) => m.id === edited.id)?.text).toBe('edited, then cancelled');
    expect((await readAll(t, arcDialogs[20])).map((m) => m.id)).not.toContain(deleted.id);
  });

  it('reads a dialog from the target alone once the copier is past it, with every message there', async () => {
    await split();
    const [first, last] = [arcDialogs[0], arcDialogs[arcDialogs.length - 1]];
    const route = async (dialogId: string) => (await t.http.get(`/admin/route/${dialogId}`).set(admin(t)).expect(200)).body;
    await eventually(async () => expect(await route(first)).toMatchObject({ shard: 'shard-2', reads: ['shard-2'] }));
    expect(await route(last)).toMatchObject({ shard: 'shard-2', reads: ['shard-2', 'shard-0'] });
    const texts = (await readAll(t, first)).map((m) => m.text);
    expect(texts.sort()).toEqual(Array.from({ length: 10 }, (_, m) => `seed ${m}`).sort());
  });

  it('blocks cutover when the target was altered behind the job, naming the ids', async () => {
    // History from a week ago as well: verification checks rows that old by checksum first.
    const weekAgo = Date.now() - 7 * 24 * 3600_000;
    const old = [uuidv7({ msecs: weekAgo }), uuidv7({ msecs: weekAgo + 1 })];
    for (const id of old) {
      await sql(
        cluster.shardUrls[0],
        `INSERT INTO messages (id, dialog_id, ring_hash, author_id, text, created_at) VALUES ($1, $2, $3, 'alice', 'last week', $4)`,
        [id, arcDialogs[0], ringHash(arcDialogs[0]), new Date(weekAgo)],
      );
    }
    const jobId = await split();
    const [gone, altered] = (await readAll(t, arcDialogs[0])).slice(0, 2);
    await eventually(async () => {
      for (const id of [gone.id, altered.id, ...old]) expect(await onShard(2, id)).toHaveLength(1);
    });
    await sql(cluster.shardUrls[2], 'DELETE FROM messages WHERE id = ANY($1)', [[gone.id, old[0]]]);
    await sql(cluster.shardUrls[2], `UPDATE messages SET text = 'tampered' WHERE id = ANY($1)`, [[altered.id, old[1]]]);

    const failed = await waitForJob(t, jobId, (job) => ['failed', 'done'].includes(job.phase));
    expect(failed.phase).toBe('failed');
    // One dialog, so one ring_hash: the ids come in id (time) order, last week's first.
    expect(failed.verification).toMatchObject({ passed: false, missing: [old[0], gone.id], changed: [old[1], altered.id], extra: [] });
    expect(failed.error).toMatch(/cutover blocked/);
    const ring = await t.http.get('/admin/ring').set(admin(t)).expect(200);
    expect(ring.body.points.map((p: { shard: string }) => p.shard)).toEqual(['shard-0', 'shard-1']);
    // A second reshard waits for this one to be cancelled.
    await t.http.post('/admin/reshard').set(admin(t)).send({ split: 'shard-1' }).expect(409);

    await t.http.post(`/admin/reshard/${jobId}/cancel`).set(admin(t)).expect(202);
    expect((await waitForJob(t, jobId, (job) => job.phase === 'cancelled')).phase).toBe('cancelled');
    const texts = (await readAll(t, arcDialogs[0])).map((m) => m.text);
    expect(texts).toHaveLength(12);
    expect(texts).not.toContain('tampered');
  });
});
