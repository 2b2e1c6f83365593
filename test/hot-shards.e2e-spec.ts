import { v7 as uuidv7, v4 as uuidv4 } from 'uuid';
import { runMigrations } from '../src/database/migrate';
import { ringHash } from '../src/ring';
import { eventually } from './support/eventually';
import { withApiCheck } from './support/openapi';
import { startCluster, TestCluster } from './support/pg-cluster';
import { admin, FAST_RING, seed, waitForJob } from './support/reshard';
import { sql, startTestApp, TestApp } from './support/test-app';

interface Shard {
  name: string;
  rows: number;
  writeRate: number | null;
  loadRank: number | null;
  splitCandidate: boolean;
}

/** shard-1 owns [2147483647, 2^32) on the two-shard ring. */
const onShard1 = (dialogId: string) => ringHash(dialogId) >= 2147483647;

/**
 * The "Lady Gaga effect": all writes go to one shard's dialogs. The ranking must follow the
 * write rate, not the size: shard-0 holds more rows (written before the service started, so
 * they are not recent load), yet the shard taking the writes is the one to split.
 */
describe('hot shard ranking', () => {
  let cluster: TestCluster;
  let t: TestApp;
  const OLD_ROWS = 300;

  beforeAll(async () => {
    cluster = await startCluster({ shards: 2 });
    await runMigrations(cluster.shardUrls[0], 'shard');
    const rows = Array.from({ length: OLD_ROWS }, () => {
      let dialogId: string;
      do dialogId = uuidv4();
      while (onShard1(dialogId));
      return [dialogId, uuidv7(), ringHash(dialogId)];
    });
    await sql(
      cluster.shardUrls[0],
      `INSERT INTO messages (dialog_id, id, ring_hash, author_id, text, created_at)
       SELECT d, i, h, 'old', 'old', now() FROM unnest($1::uuid[], $2::uuid[], $3::bigint[]) AS x(d, i, h)`,
      [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2])],
      true,
    );
    t = await withApiCheck(await startTestApp(cluster));
  });

  afterAll(async () => {
    await t?.close();
    await cluster?.destroy();
  });

  const shards = async (): Promise<Shard[]> => (await t.http.get('/admin/shards').set(admin(t)).expect(200)).body;

  it('ranks the shard taking the writes first and marks it to split', async () => {
    const before = await shards();
    expect(before.map((s) => [s.name, s.rows, s.splitCandidate])).toEqual([
      ['shard-0', OLD_ROWS, false],
      ['shard-1', 0, false],
    ]);

    const dialogs: string[] = [];
    while (dialogs.length < 3) {
      const res = await t.http.post('/dialogs').set(t.auth('gaga')).send({ participantIds: ['fan'] }).expect(201);
      if (onShard1(res.body.id)) dialogs.push(res.body.id);
    }
    const SENT = 120;
    for (let i = 0; i < SENT; i++) {
      await t.http.post(`/dialogs/${dialogs[i % dialogs.length]}/messages`).set(t.auth('fan')).send({ text: `wow ${i}` }).expect(201);
    }

    const ranked = await eventually(
      async () => {
        const now = await shards();
        expect(now[1]).toMatchObject({ loadRank: 1, splitCandidate: true });
        return now;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    // Ring order is kept; the rank is a field.
    expect(ranked.map((s) => s.name)).toEqual(['shard-0', 'shard-1']);
    expect(ranked[0]).toMatchObject({ rows: OLD_ROWS, writeRate: 0, loadRank: 2, splitCandidate: false });
    expect(ranked[1]).toMatchObject({ rows: SENT, loadRank: 1, splitCandidate: true });
    expect(ranked[1].writeRate).toBeGreaterThan(0);
    expect(ranked[1].rows).toBeLessThan(ranked[0].rows);
  });
});

/**
 * Right after a split the new shard holds the copied half of the arc, written by the copier
 * in seconds. That is not load: with no live writes since, its write rate is 0 and it does
 * not rank first, on the admin API and on the state page alike.
 */
describe('write rates after a split', () => {
  let cluster: TestCluster;
  let t: TestApp;

  beforeAll(async () => {
    cluster = await startCluster({ shards: 3 });
    t = await startTestApp(cluster, { ...FAST_RING, RESHARD_BATCH: '50', SHARD_URLS: cluster.shardUrls.slice(0, 2).join(',') });
    await t.http.post('/admin/shards').set(admin(t)).send({ name: 'shard-2', url: cluster.shardUrls[2] }).expect(201);
  });

  afterAll(async () => {
    await t?.close();
    await cluster?.destroy();
  });

  const shards = async (): Promise<Shard[]> => (await t.http.get('/admin/shards').set(admin(t)).expect(200)).body;

  it('counts live writes only: the copier\'s rows give the new shard no write rate', async () => {
    // Live writes on both shards of the ring, then none.
    await seed(t, 24, 10);
    await eventually(async () => {
      const now = await shards();
      expect(now.find((s) => s.name === 'shard-0')!.writeRate).toBeGreaterThan(0);
      expect(now.find((s) => s.name === 'shard-1')!.writeRate).toBeGreaterThan(0);
    });
    const started = await t.http.post('/admin/reshard').set(admin(t)).send({ split: 'shard-0' }).expect(202);
    const job = await waitForJob(t, started.body.id, (j) => j.phase === 'done');
    expect(job.copied).toBeGreaterThan(0);

    // Postgres counts the copier's rows as inserts on the target, once the copier's backends
    // report their counters (within seconds): the rate must not follow them.
    await eventually(
      async () => {
        const [stat] = await sql<{ n: string }>(cluster.shardUrls[2], `SELECT n_tup_ins AS n FROM pg_stat_user_tables WHERE relname = 'messages'`);
        expect(Number(stat.n)).toBeGreaterThanOrEqual(job.copied);
      },
      { timeoutMs: 30_000 },
    );
    const after = await eventually(async () => {
      const now = await shards();
      expect(now.every((s) => s.writeRate !== null)).toBe(true);
      return now;
    });
    const target = after.find((s) => s.name === 'shard-2')!;
    expect(target.rows).toBe(job.copied);
    expect(target.writeRate).toBe(0);
    expect(target).toMatchObject({ loadRank: 3, splitCandidate: false });

    const state = (await t.http.get('/state/data').set(admin(t)).expect(200)).body as { shards: Shard[] };
    const onPage = state.shards.find((s) => s.name === 'shard-2')!;
    expect(onPage).toMatchObject({ writeRate: 0, loadRank: 3 });
  });
});
