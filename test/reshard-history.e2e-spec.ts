import { Ring, ringHash } from '../src/ring';
import { ShardRegistry } from '../src/shards/shard-registry';
import { seeded } from './support/fuzz';
import { startCluster, TestCluster } from './support/pg-cluster';
import { HarnessProvisioner } from './support/provisioner';
import { eventually } from './support/eventually';
import { admin, FAST_RING, getJob, readAll, waitForJob } from './support/reshard';
import { sql, startTestApp, TestApp } from './support/test-app';

/**
 * The history checker. Writers send (with and without a clientMessageId, retrying the same
 * key), edit and delete their own messages through two instances (and a third that starts
 * during the first job) while a split, a cancelled split and a move run one after another. Every shard statement of either instance waits a
 * random moment between routing and SQL, and now and then a long one (a paused instance).
 * Afterwards the recorded history must be explainable: every acknowledged send readable once,
 * with its last acknowledged text, unless an acknowledged delete came after; nothing twice.
 *
 * HISTORY_SOAK=1 (npm run test:soak) runs it longer, with more writers and dialogs.
 */
const SOAK = process.env.HISTORY_SOAK === '1';
const WRITERS = SOAK ? 12 : 6;
const DIALOGS = SOAK ? 60 : 24;
const JOB_TIMEOUT_MS = SOAK ? 600_000 : 90_000;
const TEST_TIMEOUT_MS = SOAK ? 2_400_000 : 240_000;

interface Acked {
  dialogId: string;
  author: string;
  text: string;
  deleted: boolean;
  /** An edit or delete of it got no answer: its outcome is unknown, so only "at most once" is checked. */
  uncertain: boolean;
  key?: string;
}

/** Delays every shard statement of an instance between routing and SQL; rarely for seconds. */
function delayShardStatements(t: TestApp, random: () => number, pauseEvery: number): void {
  const registry = t.app.get(ShardRegistry);
  const query = registry.query.bind(registry);
  registry.query = async (...args: Parameters<ShardRegistry['query']>) => {
    // Long enough to outlast a whole small job: routed before it, run after it.
    const pause = random() < 1 / pauseEvery ? 4000 + random() * 6000 : random() * 15;
    await new Promise((resolve) => setTimeout(resolve, pause));
    return query(...args);
  };
}

describe('the history of writes through a split, a cancelled split and a move', () => {
  let cluster: TestCluster;
  let provisioner: HarnessProvisioner;
  let a: TestApp;
  let b: TestApp;
  /** Started while the first job runs. */
  let c: TestApp | undefined;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    cluster = await startCluster({ shards: 4 });
    // The move's source server is really stopped when the job retires it.
    provisioner = new HarnessProvisioner({ 'shard-1': cluster.shards[1] });
    env = { LOG_LEVEL: process.env.HISTORY_LOG_LEVEL ?? 'silent', ...FAST_RING, SHARD_URLS: cluster.shardUrls.slice(0, 2).join(','), RESHARD_BATCH: '20', RESHARD_MAX_ROWS_PER_SEC: '300' };
    a = await startTestApp(cluster, env, provisioner);
    b = await startTestApp(cluster, env, provisioner);
    await a.http.post('/admin/shards').set(admin(a)).send({ name: 'shard-2', url: cluster.shardUrls[2] }).expect(201);
    await a.http.post('/admin/shards').set(admin(a)).send({ name: 'shard-3', url: cluster.shardUrls[3] }).expect(201);
  });

  afterAll(async () => {
    await c?.close();
    await b?.close();
    await a?.close();
    await cluster?.destroy();
  });

  it('explains every acknowledged write', async () => {
    const seed = Number(process.env.HISTORY_SEED ?? Date.now() % 100_000);
    const random = seeded(seed);
    const writers = Array.from({ length: WRITERS }, (_, i) => `w${i}`);
    const dialogs: string[] = [];
    for (let i = 0; i < DIALOGS; i++) {
      dialogs.push((await a.http.post('/dialogs').set(a.auth(writers[0])).send({ participantIds: writers.slice(1) }).expect(201)).body.id);
    }
    delayShardStatements(a, seeded(seed + 1), 400);
    delayShardStatements(b, seeded(seed + 2), 100);

    const acked = new Map<string, Acked>();
    const statuses = new Map<number, number>();
    const violations: string[] = [];
    /** Messages with an edit or delete under way: a read may see either side of it. */
    const inflight = new Set<string>();
    let stop = false;
    const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)];
    const instances = [a, b];

    async function writer(author: string): Promise<void> {
      const mine: string[] = [];
      for (let seq = 0; !stop; seq++) {
        const via = () => pick(instances);
        const r = random();
        const live = mine.filter((id) => !acked.get(id)!.deleted && !acked.get(id)!.uncertain);
        if (r < 0.6 || live.length === 0) {
          const dialogId = pick(dialogs);
          const key = random() < 0.5 ? `${author}-${seq}` : undefined;
          const text = `${author} says ${seq}`;
          // A send with a key is retried until it is answered, through either instance, as a client would.
          let firstId: string | undefined;
          for (let attempt = 0; attempt < (key ? 4 : 1); attempt++) {
            const res = await via().http.post(`/dialogs/${dialogId}/messages`).set(a.auth(author)).send({ text, clientMessageId: key });
            statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
            if (res.status !== 201 && res.status !== 200) continue;
            if (firstId && res.body.id !== firstId) violations.push(`key ${key} answered ${firstId}, then ${res.body.id}`);
            firstId ??= res.body.id;
            if (!acked.has(res.body.id)) {
              acked.set(res.body.id, { dialogId, author, text, deleted: false, uncertain: false, key });
              mine.push(res.body.id);
            }
            // Sometimes the client retries an answered send too (a lost response).
            if (!key || random() < 0.7) break;
          }
        } else {
          const id = pick(live);
          const message = acked.get(id)!;
          inflight.add(id);
          if (r < 0.85) {
            const text = `${author} edits ${seq}`;
            const res = await via().http.patch(`/dialogs/${message.dialogId}/messages/${id}`).set(a.auth(author)).send({ text });
            inflight.delete(id);
            statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
            if (res.status === 200) Object.assign(message, { text, uncertain: false });
            else if (res.status >= 500) message.uncertain = true;
            else violations.push(`edit of ${id} answered ${res.status}${await whereIs(id)}`);
          } else {
            const res = await via().http.delete(`/dialogs/${message.dialogId}/messages/${id}`).set(a.auth(author));
            inflight.delete(id);
            statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
            if (res.status === 204) Object.assign(message, { deleted: true, uncertain: false });
            else if (res.status >= 500) message.uncertain = true;
            else violations.push(`delete of ${id} answered ${res.status}${await whereIs(id)}`);
          }
        }
      }
    }

    /**
     * Reads during the jobs: a page must hold every message acknowledged before the read
     * began (and not being changed), and none whose delete was acknowledged before it began,
     * whichever instance, ring version or shard answers it.
     */
    async function reader(): Promise<void> {
      while (!stop) {
        const dialogId = pick(dialogs);
        const settled = [...acked]
          .filter(([id, m]) => m.dialogId === dialogId && !m.uncertain && !inflight.has(id))
          .map(([id, m]) => [id, m.deleted] as const);
        const t = pick(instances);
        const res = await t.http.get(`/dialogs/${dialogId}/messages`).query({ limit: 200 }).set(t.auth(writers[0]));
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status !== 200 || res.body.nextCursor) continue;
        const listed = new Set((res.body.items as Array<{ id: string }>).map((m) => m.id));
        for (const [id, deletedBefore] of settled) {
          // A delete that began while the page was read may or may not be in it.
          const touchedSince = inflight.has(id) || acked.get(id)!.deleted || acked.get(id)!.uncertain;
          if (deletedBefore && listed.has(id)) violations.push(`a page listed ${id}, deleted before the read began`);
          if (!deletedBefore && !touchedSince && !listed.has(id)) violations.push(`a page missed ${id}, acknowledged before the read began`);
        }
      }
    }

    /** For a violation's message: which shards hold the row, and what the ring and job say now. */
    async function whereIs(id: string): Promise<string> {
      const on: string[] = [];
      for (const [i, url] of cluster.shardUrls.entries()) {
        const rows = await sql<{ deleted_at: Date | null; revision: number }>(url, 'SELECT deleted_at, revision FROM messages WHERE id = $1', [id]).catch(() => null);
        if (rows?.length) on.push(`shard${i} (rev ${rows[0].revision}${rows[0].deleted_at ? ', deleted' : ''})`);
      }
      const ring = await sql<{ version: number; reason: string }>(cluster.dialogDbUrl, 'SELECT version, reason FROM ring_versions ORDER BY version DESC LIMIT 1');
      const job = await sql<{ phase: string }>(cluster.dialogDbUrl, 'SELECT phase FROM reshard_jobs ORDER BY created_at DESC LIMIT 1');
      return ` (now on ${on.join(', ') || 'no shard'}; ring v${ring[0].version} ${ring[0].reason}; job ${job[0]?.phase})`;
    }

    const traffic = Promise.all([...writers.map((w) => writer(w)), reader(), reader()]);
    try {
      const run = async (body: Record<string, string>, cancelWhen?: (j: { phase: string; copied: number }) => boolean) => {
        const id = (await a.http.post('/admin/reshard').set(admin(a)).send(body).expect(202)).body.id as string;
        // A third instance starts in the middle of the first job and takes traffic at once.
        if (!c) {
          c = await startTestApp(cluster, env, provisioner);
          instances.push(c);
        }
        if (cancelWhen) {
          await eventually(async () => expect(cancelWhen(await getJob(a, id))).toBe(true), { timeoutMs: JOB_TIMEOUT_MS, intervalMs: 10 });
          await a.http.post(`/admin/reshard/${id}/cancel`).set(admin(a)).expect(202);
        }
        return waitForJob(a, id, (j) => ['done', 'failed', 'cancelled'].includes(j.phase), JOB_TIMEOUT_MS);
      };
      expect((await run({ split: 'shard-0', to: 'shard-2' })).phase).toBe('done');
      // Cancelled from its copy phase: whatever the target took is merged back.
      expect((await run({ split: 'shard-1', to: 'shard-3' }, (j) => j.phase === 'copy')).phase).toBe('cancelled');
      expect((await run({ move: 'shard-1', to: 'shard-3' })).phase).toBe('done');
    } finally {
      stop = true;
      await traffic;
    }
    expect(provisioner.retired).toEqual(['shard-1']);

    // Through each instance, every dialog whole.
    for (const t of instances) {
      for (const dialogId of dialogs) {
        const seen = await readAll(t, dialogId, writers[0]);
        const ids = seen.map((m) => m.id);
        if (new Set(ids).size !== ids.length) violations.push(`dialog ${dialogId} lists a message twice`);
        const byId = new Map(seen.map((m) => [m.id, m]));
        for (const [id, m] of acked) {
          if (m.dialogId !== dialogId || m.uncertain) continue;
          const got = byId.get(id);
          if (m.deleted && got) violations.push(`deleted message ${id} is listed`);
          if (!m.deleted && !got) violations.push(`acknowledged message ${id} is missing`);
          if (!m.deleted && got && got.text !== m.text) violations.push(`message ${id} reads "${got.text}", last acknowledged "${m.text}"`);
        }
      }
    }
    // In the databases: each message on one serving shard only, the owner of its hash; one message per key.
    const rows: Array<{ id: string; shard: string; dialog_id: string; author_id: string; client_message_id: string | null }> = [];
    for (const [shard, url] of [['shard-0', cluster.shardUrls[0]], ['shard-2', cluster.shardUrls[2]], ['shard-3', cluster.shardUrls[3]]]) {
      for (const row of await sql<(typeof rows)[number]>(url, 'SELECT id, dialog_id, author_id, client_message_id FROM messages')) rows.push({ ...row, shard });
    }
    const ring = (await a.http.get('/admin/ring').set(admin(a)).expect(200)).body;
    expect(ring.points.map((p: { shard: string }) => p.shard)).toEqual(['shard-0', 'shard-2', 'shard-3']);
    const finalRing = new Ring(ring.points);
    for (const row of rows) {
      const owner = finalRing.ownerOf(ringHash(row.dialog_id));
      if (owner !== row.shard) violations.push(`message ${row.id} sits on ${row.shard}, not on its owner ${owner}`);
    }
    const count = (f: (r: (typeof rows)[number]) => string) => rows.reduce((m, r) => m.set(f(r), (m.get(f(r)) ?? 0) + 1), new Map<string, number>());
    for (const [id, n] of count((r) => r.id)) if (n > 1) violations.push(`message ${id} is stored ${n} times`);
    for (const [k, n] of count((r) => (r.client_message_id ? `${r.dialog_id}|${r.author_id}|${r.client_message_id}` : r.id))) {
      if (n > 1) violations.push(`key ${k} has ${n} messages`);
    }
    for (const [id, m] of acked) if (!m.uncertain && !m.deleted && !rows.some((r) => r.id === id)) violations.push(`acknowledged ${id} is in no shard`);

    const serverErrors = [...statuses].filter(([status]) => status >= 500 && status !== 503);
    expect({ seed, violations: [...new Set(violations)].slice(0, 20), serverErrors }).toEqual({ seed, violations: [], serverErrors: [] });
    // The checker must have had something to check, in every phase.
    expect(acked.size).toBeGreaterThan(WRITERS * 10);
    expect([...acked.values()].filter((m) => m.deleted).length).toBeGreaterThan(0);
    expect([...acked.values()].filter((m) => m.text.includes('edits')).length).toBeGreaterThan(0);
  }, TEST_TIMEOUT_MS);
});
