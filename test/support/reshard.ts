import { ringHash } from '../../src/ring';
import { eventually } from './eventually';
import { startCluster, TestCluster } from './pg-cluster';
import { sql, startTestApp, TestApp } from './test-app';

/** Instances that notice ring changes within a fraction of a second, for reshard tests. */
export const FAST_RING = { RING_POLL_MS: '200', HEARTBEAT_MS: '200', RING_LEASE_MS: '2000' };

/** The upper half of shard-0's arc on the two-shard ring: what a split of shard-0 moves. */
export const inSplitArc = (dialogId: string): boolean => ringHash(dialogId) >= 1073741823 && ringHash(dialogId) < 2147483647;

export interface Job {
  id: string;
  phase: string;
  copied: number;
  total: number | null;
  verification: { passed: boolean; missing: string[]; changed: string[]; extra: string[]; marks?: string[] } | null;
  [field: string]: unknown;
}

export const admin = (t: TestApp) => t.auth('ops', { admin: true });

/**
 * Three Postgres servers: the service on the first two as its ring, the third registered as
 * the spare `shard-2`. The copier crawls (batches of 10, 100 rows/s), so a split sits in its
 * copy phase while a test writes; `listen` also opens the app on a port.
 */
export async function startCrawlingSplit({ listen = false } = {}): Promise<{ cluster: TestCluster; t: TestApp }> {
  const cluster = await startCluster({ shards: 3 });
  const t = await startTestApp(cluster, {
    ...FAST_RING,
    RESHARD_BATCH: '10',
    RESHARD_MAX_ROWS_PER_SEC: '100',
    SHARD_URLS: cluster.shardUrls.slice(0, 2).join(','),
  });
  if (listen) await t.app.listen(0, '127.0.0.1');
  await t.http.post('/admin/shards').set(admin(t)).send({ name: 'shard-2', url: cluster.shardUrls[2] }).expect(201);
  return { cluster, t };
}

export async function getJob(t: TestApp, id: string): Promise<Job> {
  return (await t.http.get(`/admin/reshard/${id}`).set(admin(t)).expect(200)).body as Job;
}

export async function waitForJob(t: TestApp, id: string, until: (job: Job) => boolean, timeoutMs = 60_000): Promise<Job> {
  return eventually(
    async () => {
      const job = await getJob(t, id);
      if (!until(job)) throw new Error(`job ${id} is ${job.phase} (${job.copied}/${job.total})`);
      return job;
    },
    { timeoutMs, intervalMs: 100 },
  );
}

/** Dialogs between alice and bob with `perDialog` messages each; returns ids newest first per dialog. */
export async function seed(t: TestApp, dialogs: number, perDialog: number): Promise<Map<string, string[]>> {
  const sent = new Map<string, string[]>();
  for (let d = 0; d < dialogs; d++) {
    const dialog = await t.http.post('/dialogs').set(t.auth('alice')).send({ participantIds: ['bob'] }).expect(201);
    const ids: string[] = [];
    for (let m = 0; m < perDialog; m++) {
      const res = await t.http.post(`/dialogs/${dialog.body.id}/messages`).set(t.auth('bob')).send({ text: `seed ${m}` }).expect(201);
      ids.unshift(res.body.id);
    }
    sent.set(dialog.body.id, ids);
  }
  return sent;
}

export async function countRows(url: string): Promise<number> {
  return Number((await sql<{ n: string }>(url, 'SELECT count(*) AS n FROM messages'))[0].n);
}

/** Every message of a dialog through the API, following cursors, newest first. */
export async function readAll(t: TestApp, dialogId: string, user = 'alice'): Promise<Array<{ id: string; text: string }>> {
  const all: Array<{ id: string; text: string }> = [];
  let before: string | null = null;
  do {
    const res: { body: { items: Array<{ id: string; text: string }>; nextCursor: string | null } } = await t.http
      .get(`/dialogs/${dialogId}/messages`)
      .query(before ? { limit: 200, before } : { limit: 200 })
      .set(t.auth(user))
      .expect(200);
    all.push(...res.body.items);
    before = res.body.nextCursor;
  } while (before);
  return all;
}

/** The ranges a shard serves and how, as its own table says. */
export async function servedArcs(url: string): Promise<Array<{ from: number; to: number; mode: string }>> {
  const rows = await sql<{ from_hash: string; to_hash: string; mode: string }>(url, 'SELECT from_hash, to_hash, mode FROM shard_arcs ORDER BY from_hash');
  return rows.map((r) => ({ from: Number(r.from_hash), to: Number(r.to_hash), mode: r.mode }));
}
