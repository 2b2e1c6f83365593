import { Client } from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { ShardOpsRepository } from '../src/reshard/shard-ops.repository';
import { eventually } from './support/eventually';
import { startCluster, TestCluster } from './support/pg-cluster';
import { sql, startTestApp, TestApp } from './support/test-app';

/**
 * What resharding's safety rests on, at the level of one shard: a change of the arcs a shard
 * serves waits for every write that passed the old check, and a write that comes after the
 * change began is checked against the new arcs. Real transactions held open by hand.
 */
describe('a change of arcs against writes in flight', () => {
  let cluster: TestCluster;
  let t: TestApp;
  let ops: ShardOpsRepository;
  const clients: Client[] = [];

  beforeAll(async () => {
    cluster = await startCluster({ shards: 1 });
    t = await startTestApp(cluster);
    ops = t.app.get(ShardOpsRepository);
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await t?.close();
    await cluster?.destroy();
  });

  async function session(): Promise<Client> {
    const c = new Client({ connectionString: cluster.shardUrls[0] });
    await c.connect();
    clients.push(c);
    return c;
  }

  const insert = (c: Client, hash: number) =>
    c.query('INSERT INTO messages (dialog_id, id, ring_hash, author_id, text, created_at) VALUES ($1, $2, $3, $4, $5, now()) RETURNING id', [uuidv7(), uuidv7(), hash, 'alice', 'in flight']);

  it('waits for a write that passed the old check, and refuses one that came after it began', async () => {
    const hash = 3_000_000_000;
    const before = await session();
    await before.query('BEGIN');
    const { rows: [kept] } = await insert(before, hash);

    // The arcs change to no longer serve the hash: it must wait for the open write.
    let changed = false;
    const change = ops.setArcs('shard-0', [{ from: 0, to: 1_000_000, mode: 'owner' }], 99, 'test: the hash moves away', null).then(() => {
      changed = true;
    });
    await eventually(async () => {
      const waiting = await sql<{ n: string }>(cluster.shardUrls[0], `SELECT count(*) AS n FROM pg_locks WHERE relation = 'shard_arcs'::regclass AND NOT granted`);
      expect(Number(waiting[0].n)).toBeGreaterThan(0);
    });
    expect(changed).toBe(false);

    // A write that arrives now queues behind the change, and is checked against the new arcs.
    const after = await session();
    const late = insert(after, hash).then(
      () => 'stored',
      (err: { code?: string }) => err.code,
    );

    await before.query('COMMIT');
    await change;
    await expect(late).resolves.toBe('SF001');
    const stored = await sql<{ id: string }>(cluster.shardUrls[0], 'SELECT id FROM messages WHERE ring_hash = $1', [hash]);
    expect(stored.map((r) => r.id)).toEqual([kept.id]);
  });
});
