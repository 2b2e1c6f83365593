import { Client } from 'pg';
import { ringHash } from '../src/ring';
import { eventually } from './support/eventually';
import { startCluster, TestCluster } from './support/pg-cluster';
import { HarnessProvisioner } from './support/provisioner';
import { admin, FAST_RING, getJob, inSplitArc, readAll, waitForJob } from './support/reshard';
import { sql, startTestApp, TestApp } from './support/test-app';

/** Dialogs between alice and bob until `n` of them satisfy `where`, each with `perDialog` messages. */
async function dialogsWhere(t: TestApp, n: number, where: (id: string) => boolean, perDialog = 0): Promise<string[]> {
  const out: string[] = [];
  while (out.length < n) {
    const dialog = await t.http.post('/dialogs').set(t.auth('alice')).send({ participantIds: ['bob'] }).expect(201);
    if (where(dialog.body.id)) out.push(dialog.body.id);
  }
  for (const dialogId of out) {
    for (let m = 0; m < perDialog; m++) {
      await t.http.post(`/dialogs/${dialogId}/messages`).set(t.auth('alice')).send({ text: `seed ${m}` }).expect(201);
    }
  }
  return out;
}

async function withCluster(
  env: NodeJS.ProcessEnv,
  body: (t: TestApp, cluster: TestCluster) => Promise<void>,
  provisioner?: (cluster: TestCluster) => HarnessProvisioner,
): Promise<void> {
  const cluster = await startCluster({ shards: 3 });
  let t: TestApp | undefined;
  try {
    t = await startTestApp(cluster, { ...FAST_RING, SHARD_URLS: cluster.shardUrls.slice(0, 2).join(','), ...env }, provisioner?.(cluster) ?? null);
    await t.http.post('/admin/shards').set(admin(t)).send({ name: 'shard-2', url: cluster.shardUrls[2] }).expect(201);
    await body(t, cluster);
  } finally {
    await t?.close();
    await cluster.destroy();
  }
}

describe('resharding faults', () => {
  it('a cancel never shows a message deleted during the job, nor lets it be edited', async () => {
    // A paced copier and merge back: the cancel's ring stays live for a few seconds.
    await withCluster({ RESHARD_BATCH: '10', RESHARD_MAX_ROWS_PER_SEC: '200' }, async (t) => {
      const dialogs = (await dialogsWhere(t, 12, inSplitArc, 40)).sort((x, y) => ringHash(x) - ringHash(y));
      // The last in the copier's order: merged back last, so the window before its merge is widest.
      const last = dialogs[dialogs.length - 1];
      const job = (await t.http.post('/admin/reshard').set(admin(t)).send({ split: 'shard-0' }).expect(202)).body.id;
      // Near the copy's end: only these dialogs' 12 × 40 rows move (`total` is an estimate).
      await waitForJob(t, job, (j) => j.phase === 'verify' || (j.phase === 'copy' && j.copied >= 12 * 40 - 40));
      // Through the target, during the job.
      const [deleted, edited] = await readAll(t, last);
      await t.http.delete(`/dialogs/${last}/messages/${deleted.id}`).set(t.auth('alice')).expect(204);
      await t.http.patch(`/dialogs/${last}/messages/${edited.id}`).set(t.auth('alice')).send({ text: 'edited on the target' }).expect(200);

      await t.http.post(`/admin/reshard/${job}/cancel`).set(admin(t)).expect(202);
      // Observed on every poll while the cancel's ring is live; recorded, not thrown, so the
      // eventually below cannot retry past a violation.
      let seenWhileCancelling = 0;
      const violations: string[] = [];
      await eventually(
        async () => {
          const state = await getJob(t, job);
          if (state.phase !== 'cancelled' && (state.versions as Record<string, number>).cancel !== undefined) {
            seenWhileCancelling++;
            const page = await readAll(t, last);
            if (page.some((m) => m.id === deleted.id)) violations.push('the deleted message reappeared');
            if (page.find((m) => m.id === edited.id)?.text !== 'edited on the target') violations.push('the edit was not shown');
            const patch = await t.http.patch(`/dialogs/${last}/messages/${deleted.id}`).set(t.auth('alice')).send({ text: 'revived?' });
            if (patch.status !== 404) violations.push(`a PATCH of the deleted message answered ${patch.status}`);
          }
          expect(state.phase).toBe('cancelled');
        },
        { timeoutMs: 60_000, intervalMs: 10 },
      );
      expect([...new Set(violations)]).toEqual([]);
      expect(seenWhileCancelling).toBeGreaterThan(0);
      const after = await readAll(t, last);
      expect(after.map((m) => m.id)).not.toContain(deleted.id);
      expect(after).toHaveLength(39);
      expect(after.find((m) => m.id === edited.id)?.text).toBe('edited on the target');
    });
  });

  it('a target that is down: reads keep working, the job cancels at once, and the spare can be removed', async () => {
    await withCluster({}, async (t, cluster) => {
      const [dialog] = await dialogsWhere(t, 1, inSplitArc, 2);
      const first = await t.http.post(`/dialogs/${dialog}/messages`).set(t.auth('bob')).send({ text: 'once', clientMessageId: 'k1' }).expect(201);
      await cluster.shards[2].stop();
      const job = (await t.http.post('/admin/reshard').set(admin(t)).send({ split: 'shard-0' }).expect(202)).body.id;
      await waitForJob(t, job, (j) => j.phase === 'prepare' && typeof j.error === 'string');
      expect(await readAll(t, dialog)).toHaveLength(3);
      await t.http.post(`/admin/reshard/${job}/cancel`).set(admin(t)).expect(202);
      const cancelled = await waitForJob(t, job, (j) => ['cancelled', 'failed', 'done'].includes(j.phase), 20_000);
      expect(cancelled.phase).toBe('cancelled');
      expect(await readAll(t, dialog)).toHaveLength(3);
      const again = await t.http.post(`/dialogs/${dialog}/messages`).set(t.auth('bob')).send({ text: 'once', clientMessageId: 'k1' }).expect(200);
      expect(again.body.id).toBe(first.body.id);
      const ring = (await t.http.get('/admin/ring').set(admin(t)).expect(200)).body;
      expect(ring.points.map((p: { shard: string }) => p.shard)).toEqual(['shard-0', 'shard-1']);

      await t.http.delete('/admin/shards/shard-0').set(admin(t)).expect(409);
      await t.http.delete('/admin/shards/nope').set(admin(t)).expect(404);
      await t.http.delete('/admin/shards/shard-2').set(admin(t)).expect(204);
      const shards = (await t.http.get('/admin/shards').set(admin(t)).expect(200)).body;
      expect(shards.map((s: { name: string }) => s.name)).not.toContain('shard-2');
    });
  });

  it('a long reader on the source neither stalls its traffic nor holds the job back', async () => {
    await withCluster({}, async (t, cluster) => {
      const moving = await dialogsWhere(t, 3, inSplitArc, 3);
      const staying = await dialogsWhere(t, 3, (id) => ringHash(id) < 1073741823, 1);
      const reader = new Client({ connectionString: cluster.shardUrls[0] });
      await reader.connect();
      try {
        // A report, a pg_dump: a transaction holding a lock on messages for the whole job.
        await reader.query('BEGIN');
        await reader.query('SELECT count(*) FROM messages');
        const job = (await t.http.post('/admin/reshard').set(admin(t)).send({ split: 'shard-0' }).expect(202)).body.id;
        const statuses: number[] = [];
        let done = false;
        const traffic = (async () => {
          for (let i = 0; !done; i++) {
            const res = await t.http.post(`/dialogs/${staying[i % 3]}/messages`).set(t.auth('bob')).send({ text: `during ${i}` });
            statuses.push(res.status);
          }
        })();
        const finished = await waitForJob(t, job, (j) => ['done', 'failed'].includes(j.phase), 30_000).finally(() => (done = true));
        await traffic;
        expect(finished.phase).toBe('done');
        expect(statuses.length).toBeGreaterThan(0);
        expect(statuses.filter((s) => s !== 201)).toEqual([]);
      } finally {
        await reader.query('ROLLBACK').catch(() => undefined);
        await reader.end();
      }
      for (const dialogId of moving) expect(await readAll(t, dialogId)).toHaveLength(3);
      expect(await sql(cluster.shardUrls[0], 'SELECT 1 FROM messages WHERE ring_hash >= 1073741823 AND ring_hash < 2147483647')).toEqual([]);
    });
  });

  it('a move resumes after a failure between retiring the source and finishing', async () => {
    await withCluster({}, async (t, cluster) => {
      const dialogs = await dialogsWhere(t, 3, (id) => ringHash(id) >= 2147483647, 2);
      // The first time the job is marked done, dialogdb refuses: the runner fails after its
      // last step and must resume cleanup with the source already retired.
      await sql(
        cluster.dialogDbUrl,
        // A sequence, because its increments survive the rollback the fault causes.
        `CREATE SEQUENCE fault_once;
         CREATE FUNCTION fault_once() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           IF NEW.phase = 'done' AND nextval('fault_once') = 1 THEN
             RAISE EXCEPTION 'injected fault before done';
           END IF;
           RETURN NEW;
         END $$;
         CREATE TRIGGER fault_once BEFORE UPDATE ON reshard_jobs FOR EACH ROW EXECUTE FUNCTION fault_once();`,
      );
      const job = (await t.http.post('/admin/reshard').set(admin(t)).send({ move: 'shard-1', to: 'shard-2' }).expect(202)).body.id;
      const done = await waitForJob(t, job, (j) => ['done', 'failed'].includes(j.phase), 30_000);
      expect(done.phase).toBe('done');
      // The fault did fire, so the cleanup really ran twice.
      expect(await sql(cluster.dialogDbUrl, 'SELECT last_value::int AS tries FROM fault_once')).toEqual([{ tries: 2 }]);
      const shards = (await t.http.get('/admin/shards').set(admin(t)).expect(200)).body as Array<{ name: string }>;
      expect(shards.map((s) => s.name).sort()).toEqual(['shard-0', 'shard-2']);
      for (const dialogId of dialogs) expect(await readAll(t, dialogId)).toHaveLength(2);
      // The source's server was really stopped when it was retired, before the resumed cleanup.
      await expect(sql(cluster.shardUrls[1], 'SELECT 1')).rejects.toThrow();
      // The target serves the whole arc as its owner, and owns it on the ring.
      expect(await sql(cluster.shardUrls[2], 'SELECT from_hash::text, to_hash::text, mode FROM shard_arcs ORDER BY from_hash')).toEqual([
        { from_hash: '2147483647', to_hash: '4294967296', mode: 'owner' },
      ]);
      const ring = (await t.http.get('/admin/ring').set(admin(t)).expect(200)).body;
      expect(ring.points).toEqual([
        { point: 0, shard: 'shard-0' },
        { point: 2147483647, shard: 'shard-2' },
      ]);
    }, (cluster) => new HarnessProvisioner({ 'shard-1': cluster.shards[1] }));
  });
});
