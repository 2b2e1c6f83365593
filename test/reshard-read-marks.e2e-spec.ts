import { ringHash } from '../src/ring';
import { eventually } from './support/eventually';
import { TestCluster } from './support/pg-cluster';
import { admin, getJob, inSplitArc, startCrawlingSplit, waitForJob } from './support/reshard';
import { sql, TestApp } from './support/test-app';

const ARC = 'ring_hash >= 1073741823 AND ring_hash < 2147483647';

/**
 * Read marks move with their dialogs: a split with marks written before and during it (the
 * copier held to a crawl, so the job sits in its copy phase while they land), a cancel
 * mid-copy, and verification of a mark tampered with on the target.
 */
describe('read marks through a split', () => {
  let cluster: TestCluster;
  let t: TestApp;
  /** Dialogs of alice and bob in the arc that moves, each with bob's messages in id order. */
  let arc: Array<{ id: string; messages: string[] }>;
  /** A dialog that stays on shard-1. */
  let stays: { id: string; messages: string[] };

  beforeEach(async () => {
    ({ cluster, t } = await startCrawlingSplit());
    const ids: string[] = [];
    let other: string | null = null;
    while (ids.length < 12 || other === null) {
      const dialog = await t.http.post('/dialogs').set(t.auth('alice')).send({ participantIds: ['bob'] }).expect(201);
      if (inSplitArc(dialog.body.id)) ids.push(dialog.body.id);
      else if (ringHash(dialog.body.id) >= 2147483647) other = dialog.body.id;
    }
    const seed = async (id: string) => {
      const messages: string[] = [];
      for (let m = 0; m < 10; m++) messages.push((await t.http.post(`/dialogs/${id}/messages`).set(t.auth('bob')).send({ text: `seed ${m}` }).expect(201)).body.id);
      return { id, messages };
    };
    arc = [];
    for (const id of ids.sort((a, b) => ringHash(a) - ringHash(b)).slice(0, 12)) arc.push(await seed(id));
    stays = await seed(other!);
  });

  afterEach(async () => {
    await t?.close();
    await cluster?.destroy();
  });

  const markRead = async (user: string, dialogId: string, messageId: string): Promise<string> =>
    (await t.http.post(`/dialogs/${dialogId}/read`).set(t.auth(user)).send({ messageId }).expect(200)).body.messageId;

  async function unread(user: string): Promise<Map<string, number>> {
    const res = await t.http.get('/dialogs').query({ limit: 200 }).set(t.auth(user)).expect(200);
    return new Map(res.body.items.map((i: { id: string; unreadCount: number }) => [i.id, i.unreadCount]));
  }

  const marksOn = async (shard: number, user: string) =>
    new Map((await sql<{ dialog_id: string; message_id: string }>(cluster.shardUrls[shard], 'SELECT dialog_id, message_id FROM read_marks WHERE user_id = $1', [user])).map((r) => [r.dialog_id, r.message_id]));

  async function split(): Promise<string> {
    const res = await t.http.post('/admin/reshard').set(admin(t)).send({ split: 'shard-0' }).expect(202);
    await waitForJob(t, res.body.id, (job) => job.phase === 'copy' && job.copied > 0);
    return res.body.id;
  }

  it('keeps every mark written before and during the split, at its greatest, on the new owner; unread counts stay right', async () => {
    // The target already holds a mark of one dialog, newer than the source's, as a mark set
    // there during the copy would be; and an older one of another. The greater must win both times.
    const [newerOnTarget, olderOnTarget] = arc;
    const plant = (dialog: { id: string }, messageId: string) =>
      sql(cluster.shardUrls[2], `INSERT INTO read_marks (dialog_id, user_id, ring_hash, message_id) VALUES ($1, 'alice', $2, $3)`, [dialog.id, ringHash(dialog.id), messageId], true);
    await plant(newerOnTarget, newerOnTarget.messages[8]);
    await plant(olderOnTarget, olderOnTarget.messages[0]);

    const acked = new Map<string, number>();
    const mark = async (i: number, m: number) => {
      const dialog = arc[i];
      const inForce = await markRead('alice', dialog.id, dialog.messages[m]);
      acked.set(dialog.id, Math.max(acked.get(dialog.id) ?? -1, dialog.messages.indexOf(inForce)));
    };
    for (let i = 0; i < arc.length; i++) await mark(i, 2);
    await markRead('bob', arc[3].id, arc[3].messages[9]);
    await markRead('alice', stays.id, stays.messages[4]);
    acked.set(newerOnTarget.id, 8);

    const jobId = await split();
    // While the job runs: marks move forward (and now and then try to go back) in every
    // dialog, in rounds, and the dialog list is read merged from both shards meanwhile.
    let round = 3;
    while ((await getJob(t, jobId)).phase !== 'done' && round < 10) {
      await Promise.all(arc.map((_, i) => mark(i, i % 4 === 0 ? 1 : round)));
      const counts = await unread('alice');
      for (const dialog of arc) expect({ dialog: dialog.id, unread: counts.get(dialog.id) }).toEqual({ dialog: dialog.id, unread: 9 - acked.get(dialog.id)! });
      round++;
    }
    expect(round).toBeGreaterThan(3);
    const done = await waitForJob(t, jobId, (job) => ['done', 'failed'].includes(job.phase));
    expect(done).toMatchObject({ phase: 'done', verification: { passed: true, marks: [] } });

    const onTarget = await marksOn(2, 'alice');
    for (const dialog of arc) expect({ dialog: dialog.id, mark: onTarget.get(dialog.id) }).toEqual({ dialog: dialog.id, mark: dialog.messages[acked.get(dialog.id)!] });
    expect(onTarget.get(newerOnTarget.id)).toBe(newerOnTarget.messages[8]);
    expect((await marksOn(2, 'bob')).get(arc[3].id)).toBe(arc[3].messages[9]);
    // The source kept no mark of the arc; the dialog outside it was not touched.
    expect(await sql(cluster.shardUrls[0], `SELECT 1 FROM read_marks WHERE ${ARC}`)).toEqual([]);
    expect((await marksOn(1, 'alice')).get(stays.id)).toBe(stays.messages[4]);

    const counts = await unread('alice');
    for (const dialog of arc) expect({ dialog: dialog.id, unread: counts.get(dialog.id) }).toEqual({ dialog: dialog.id, unread: 9 - acked.get(dialog.id)! });
    expect(counts.get(stays.id)).toBe(5);
    expect((await unread('bob')).get(arc[3].id)).toBe(0);
    // A mark still moves forward only, on the new owner.
    expect(await markRead('alice', arc[5].id, arc[5].messages[0])).toBe(arc[5].messages[acked.get(arc[5].id)!]);
  });

  it('a cancel mid-copy puts every mark written during the job back on the source', async () => {
    for (const dialog of arc) await markRead('alice', dialog.id, dialog.messages[2]);
    const jobId = await split();
    for (const dialog of arc) expect(await markRead('alice', dialog.id, dialog.messages[7])).toBe(dialog.messages[7]);
    // Written to the target: the source takes no writes of the arc during the copy.
    expect([...(await marksOn(2, 'alice')).values()].sort()).toEqual(arc.map((d) => d.messages[7]).sort());

    await t.http.post(`/admin/reshard/${jobId}/cancel`).set(admin(t)).expect(202);
    expect((await waitForJob(t, jobId, (job) => ['cancelled', 'failed', 'done'].includes(job.phase))).phase).toBe('cancelled');

    const onSource = await marksOn(0, 'alice');
    for (const dialog of arc) expect({ dialog: dialog.id, mark: onSource.get(dialog.id) }).toEqual({ dialog: dialog.id, mark: dialog.messages[7] });
    expect(await sql(cluster.shardUrls[2], 'SELECT 1 FROM read_marks')).toEqual([]);
    const counts = await unread('alice');
    for (const dialog of arc) expect({ dialog: dialog.id, unread: counts.get(dialog.id) }).toEqual({ dialog: dialog.id, unread: 2 });
  });

  it('blocks cutover when a mark on the target was altered behind the job, naming it', async () => {
    const [lowered, removed, kept] = arc;
    for (const dialog of [lowered, removed, kept]) await markRead('alice', dialog.id, dialog.messages[5]);
    const jobId = await split();
    await eventually(async () => expect((await marksOn(2, 'alice')).size).toBe(3));
    await sql(cluster.shardUrls[2], `UPDATE read_marks SET message_id = $2 WHERE dialog_id = $1`, [lowered.id, lowered.messages[1]], true);
    await sql(cluster.shardUrls[2], `DELETE FROM read_marks WHERE dialog_id = $1`, [removed.id], true);

    const failed = await waitForJob(t, jobId, (job) => ['failed', 'done'].includes(job.phase));
    expect(failed.phase).toBe('failed');
    expect([...(failed.verification?.marks ?? [])].sort()).toEqual([`${lowered.id}/alice`, `${removed.id}/alice`].sort());
    expect(failed.verification).toMatchObject({ passed: false, missing: [], changed: [], extra: [] });
    expect(failed.error).toMatch(/cutover blocked/);
  });
});
