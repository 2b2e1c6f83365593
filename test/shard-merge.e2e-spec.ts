import { FULL_COLUMNS, FullMessageRow } from '../src/shards/message-schema';
import { ShardOpsRepository } from '../src/reshard/shard-ops.repository';
import { startCluster, TestCluster } from './support/pg-cluster';
import { sql, startTestApp, TestApp } from './support/test-app';

/**
 * The rule rows are copied by, between shards, during a reshard and its cancel: a deletion is
 * never undone, the higher revision wins, and one clientMessageId never yields two messages.
 */
const WHOLE_RING = { from: 0, to: 2 ** 32 };

describe('merging rows into a shard', () => {
  let cluster: TestCluster;
  let t: TestApp;
  let sut: ShardOpsRepository;
  const dialog = '11111111-0000-4000-8000-000000000000';
  let n = 0;
  const row = (over: Partial<FullMessageRow> = {}): FullMessageRow => ({
    id: `01a20000-0000-7000-8000-${String(++n).padStart(12, '0')}`,
    dialog_id: dialog,
    ring_hash: '42',
    author_id: 'alice',
    text: 'original',
    client_message_id: null,
    created_at: new Date('2026-11-01T00:00:00.000Z'),
    edited_at: null,
    deleted_at: null,
    revision: 0,
    ...over,
  });
  /**
   * Puts these versions of rows on shard-1 and copies them into shard-0, as a reshard step
   * does. Hash 42 is shard-0's, so shard-1 takes them only past its ownership check.
   */
  const putOnShard1 = async (rows: FullMessageRow[]) => {
    await sql(cluster.shardUrls[1], 'DELETE FROM messages', [], true);
    for (const r of rows) {
      await sql(
        cluster.shardUrls[1],
        `INSERT INTO messages (${FULL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [r.id, r.dialog_id, r.author_id, r.text, r.created_at, r.edited_at, r.deleted_at, r.ring_hash, r.client_message_id, r.revision],
        true,
      );
    }
  };
  const merge = async (rows: FullMessageRow[]) => {
    await putOnShard1(rows);
    const copied = await sut.copyBatch('shard-1', 'shard-0', WHOLE_RING, null, 1000);
    expect(copied.rows).toBe(rows.length);
  };
  const stored = async (id: string) =>
    (
      await sql<{ text: string; edited_at: Date | null; deleted_at: Date | null; revision: number }>(
        cluster.shardUrls[0],
        'SELECT text, edited_at, deleted_at, revision FROM messages WHERE id = $1',
        [id],
      )
    )[0];

  beforeAll(async () => {
    cluster = await startCluster({ shards: 2 });
    t = await startTestApp(cluster);
    sut = t.app.get(ShardOpsRepository);
  });

  afterAll(async () => {
    await t?.close();
    await cluster?.destroy();
  });

  it('inserts rows it does not have', async () => {
    const r = row();
    await merge([r]);
    expect(await stored(r.id)).toEqual({ text: 'original', edited_at: null, deleted_at: null, revision: 0 });
  });

  it('keeps a deletion from either side, even against a higher revision', async () => {
    const r = row();
    await merge([{ ...r, text: 'edited', edited_at: new Date('2026-11-02T00:00:00.000Z'), revision: 1 }]);
    await merge([{ ...r, text: '', deleted_at: new Date('2026-11-03T00:00:00.000Z'), revision: 1 }]);
    expect(await stored(r.id)).toMatchObject({ text: '', deleted_at: new Date('2026-11-03T00:00:00.000Z') });
    await merge([{ ...r, text: 'edited again', edited_at: new Date('2026-11-04T00:00:00.000Z'), revision: 5 }]);
    expect(await stored(r.id)).toMatchObject({ text: '', deleted_at: new Date('2026-11-03T00:00:00.000Z') });
  });

  it('lets the higher revision win, whichever side it comes from and whatever its clock said', async () => {
    const r = row();
    // The later write was stamped by a server whose clock runs behind: the revision decides.
    await merge([{ ...r, text: 'later', edited_at: new Date('2026-11-04T00:00:00.000Z'), revision: 2 }]);
    await merge([{ ...r, text: 'earlier', edited_at: new Date('2026-11-05T00:00:00.000Z'), revision: 1 }]);
    expect(await stored(r.id)).toMatchObject({ text: 'later', revision: 2 });
    await merge([{ ...r, text: 'latest', edited_at: new Date('2026-11-01T00:00:00.000Z'), revision: 3 }]);
    expect(await stored(r.id)).toMatchObject({ text: 'latest', revision: 3 });
  });

  it('skips a second message with a clientMessageId the author already used there', async () => {
    const first = row({ client_message_id: 'k1' });
    const twin = row({ client_message_id: 'k1', text: 'twin' });
    await merge([first]);
    await merge([twin, row({ client_message_id: 'k2' })]);
    expect(await stored(twin.id)).toBeUndefined();
    const keys = await sql(cluster.shardUrls[0], `SELECT client_message_id FROM messages WHERE client_message_id IN ('k1', 'k2') ORDER BY 1`);
    expect(keys).toEqual([{ client_message_id: 'k1' }, { client_message_id: 'k2' }]);
  });

  it('copies a segment in (ring_hash, id) order, a batch at a time, resuming after the last key', async () => {
    await sql(cluster.shardUrls[0], 'DELETE FROM messages', []);
    const rows = [row({ ring_hash: '300' }), row({ ring_hash: '100' }), row({ ring_hash: '200' }), row({ ring_hash: '100' }), row({ ring_hash: '900' })];
    await putOnShard1(rows);
    const segment = { from: 100, to: 900 };
    const first = await sut.copyBatch('shard-1', 'shard-0', segment, null, 2);
    expect(first).toEqual({ rows: 2, last: { hash: '100', id: rows[3].id } });
    const second = await sut.copyBatch('shard-1', 'shard-0', segment, first.last, 2);
    expect(second).toEqual({ rows: 2, last: { hash: '300', id: rows[0].id } });
    expect(await sut.copyBatch('shard-1', 'shard-0', segment, second.last, 2)).toEqual({ rows: 0, last: null });
    const copied = await sql<{ id: string }>(cluster.shardUrls[0], 'SELECT id FROM messages ORDER BY ring_hash, id', []);
    expect(copied.map((r) => r.id)).toEqual([rows[1].id, rows[3].id, rows[2].id, rows[0].id]);
  });
});
