import { ShardOpsRepository } from '../src/reshard/shard-ops.repository';
import { ShardRegistry } from '../src/shards/shard-registry';
import { startCluster, TestCluster } from './support/pg-cluster';
import { sql, startTestApp, TestApp } from './support/test-app';

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Plan Rows': number;
  Plans?: PlanNode[];
}

const nodes = (plan: PlanNode): PlanNode[] => [plan, ...(plan.Plans ?? []).flatMap(nodes)];

/**
 * The resharding walks' statements on a shard of many dialogs: each chunk must be planned as
 * the short range of the (ring_hash, id) index it is. A bad estimate once made verification
 * scan most of the table per chunk (a sequential scan, or a skip scan of the primary key),
 * which the tests of correctness cannot see on a few hundred rows.
 */
describe('the resharding walks on a large shard', () => {
  let cluster: TestCluster;
  let t: TestApp;
  let sut: ShardOpsRepository;
  const WHOLE_RING = { from: 0, to: 2 ** 32 };
  const CHUNK = 2000;

  beforeAll(async () => {
    cluster = await startCluster({ shards: 1 });
    t = await startTestApp(cluster);
    sut = t.app.get(ShardOpsRepository);
    // 200 dialogs of 500 messages each: every dialog's rows share its ring hash, as on a real shard.
    await sql(
      cluster.shardUrls[0],
      `INSERT INTO messages (dialog_id, id, ring_hash, author_id, text, created_at)
       SELECT d.id, gen_random_uuid(), d.hash, 'alice', 'message ' || m, now() - m * interval '1 second'
       FROM (SELECT gen_random_uuid() AS id, (random() * 4294967295)::bigint AS hash FROM generate_series(1, 200)) d,
            generate_series(1, 500) m`,
      [],
      true,
    );
    await sql(cluster.shardUrls[0], 'ANALYZE messages');
  });

  afterAll(async () => {
    await t?.close();
    await cluster?.destroy();
  });

  it('plans a chunk of the copy, the verification and the cleanup as a short index range', async () => {
    const after = await sut.chunkEnd('shard-0', WHOLE_RING, null, 40_000);
    const end = await sut.chunkEnd('shard-0', WHOLE_RING, after, CHUNK);
    expect(after && end).toBeTruthy();
    const registry = t.app.get(ShardRegistry);
    const statements: Array<{ text: string; values: unknown[]; bounded: boolean }> = [];
    let bounded = false;
    // The statements as the repository writes them, planned below on the real shard.
    const query = jest.spyOn(registry, 'query').mockImplementation((async (_shard: string, text: string, values?: unknown[]) => {
      statements.push({ text, values: values ?? [], bounded });
      return [{}];
    }) as unknown as ShardRegistry['query']);
    try {
      // The next chunk's end: a range open above, whose estimate is rightly large (LIMIT stops it).
      await sut.chunkEnd('shard-0', WHOLE_RING, after, CHUNK);
      bounded = true;
      await sut.digest('shard-0', WHOLE_RING, after, end, '01a20000-0000-7000-8000-000000000000');
      // The rows sent since the job began: a bound on id beside the range, which the primary key could serve.
      await sut.scan('shard-0', WHOLE_RING, after, 1_000_000, end, 'ffff0000-0000-7000-8000-000000000000');
      await sut.scan('shard-0', WHOLE_RING, after, 1_000_000, end, null);
    } finally {
      query.mockRestore();
    }
    expect(statements).toHaveLength(4);

    for (const { text, values, bounded } of statements) {
      const [{ 'QUERY PLAN': plan }] = await sql<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(cluster.shardUrls[0], `EXPLAIN (FORMAT JSON) ${text}`, values);
      const scans = nodes(plan[0].Plan).filter((n) => n['Relation Name'] === 'messages' || n['Index Name']);
      const shape = scans.map((n) => `${n['Node Type']} ${n['Index Name'] ?? ''} ~${n['Plan Rows']} rows`).join(', ');
      expect({ text: text.slice(0, 60), shape, seq: scans.some((n) => n['Node Type'].includes('Seq Scan')) }).toEqual({ text: text.slice(0, 60), shape, seq: false });
      for (const n of scans) {
        // A bitmap heap scan names no index: its bitmap index scan below it does.
        if (n['Index Name']) expect([n['Index Name'], shape]).toEqual(['messages_ring_hash_id', shape]);
        // A few dialogs' worth, not a large part of the table's 100,000 rows.
        if (bounded) expect([n['Plan Rows'] < 5 * CHUNK, shape]).toEqual([true, shape]);
      }
    }
  });
});
