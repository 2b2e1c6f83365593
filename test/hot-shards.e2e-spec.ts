import { v7 as uuidv7, v4 as uuidv4 } from 'uuid';
import { runMigrations } from '../src/database/migrate';
import { ringHash } from '../src/ring';
import { eventually } from './support/eventually';
import { withApiCheck } from './support/openapi';
import { startCluster, TestCluster } from './support/pg-cluster';
import { admin } from './support/reshard';
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
    // Postgres publishes a backend's table counters when it exits: wait for them, so the
    // service's first sample already includes these inserts and they count as old load.
    await eventually(async () => {
      const [stat] = await sql<{ n: string }>(cluster.shardUrls[0], `SELECT n_tup_ins AS n FROM pg_stat_user_tables WHERE relname = 'messages'`);
      expect(Number(stat.n)).toBe(OLD_ROWS);
    });
    t = await withApiCheck(await startTestApp(cluster));
  });

  afterAll(async () => {
    await t?.close();
    await cluster?.destroy();
  });

  const shards = async (): Promise<Shard[]> => (await t.http.get('/admin/shards').set(admin(t)).expect(200)).body;

  it('ranks the shard taking the writes first and marks it to split', async () => {
    // The first sample: the rates count from here.
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
