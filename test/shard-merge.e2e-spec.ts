import { FullMessageRow } from '../src/messages/messages.repository';
import { ShardOpsRepository } from '../src/reshard/shard-ops.repository';
import { startCluster, TestCluster } from './support/pg-cluster';
import { sql, startTestApp, TestApp } from './support/test-app';

/**
 * The rule rows are copied by, between shards, during a reshard and its cancel: a deletion is
 * never undone, the later edit wins, and one clientMessageId never yields two messages.
 */
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
    ...over,
  });
  const stored = async (id: string) =>
    (await sql<{ text: string; edited_at: Date | null; deleted_at: Date | null }>(cluster.shardUrls[0], 'SELECT text, edited_at, deleted_at FROM messages WHERE id = $1', [id]))[0];

  beforeAll(async () => {
    cluster = await startCluster({ shards: 1 });
    t = await startTestApp(cluster);
    sut = t.app.get(ShardOpsRepository);
  });

  afterAll(async () => {
    await t?.close();
    await cluster?.destroy();
  });

  it('inserts rows it does not have', async () => {
    const r = row();
    await sut.merge('shard-0', [r]);
    expect(await stored(r.id)).toEqual({ text: 'original', edited_at: null, deleted_at: null });
  });

  it('keeps a deletion from either side', async () => {
    const r = row();
    await sut.merge('shard-0', [{ ...r, text: 'edited', edited_at: new Date('2026-11-02T00:00:00.000Z') }]);
    await sut.merge('shard-0', [{ ...r, text: '', deleted_at: new Date('2026-11-03T00:00:00.000Z') }]);
    expect(await stored(r.id)).toMatchObject({ text: '', deleted_at: new Date('2026-11-03T00:00:00.000Z') });
    await sut.merge('shard-0', [{ ...r, text: 'edited again', edited_at: new Date('2026-11-04T00:00:00.000Z') }]);
    expect(await stored(r.id)).toMatchObject({ text: '', deleted_at: new Date('2026-11-03T00:00:00.000Z') });
  });

  it('lets the later edit win, whichever side it comes from', async () => {
    const r = row();
    await sut.merge('shard-0', [{ ...r, text: 'later', edited_at: new Date('2026-11-05T00:00:00.000Z') }]);
    await sut.merge('shard-0', [{ ...r, text: 'earlier', edited_at: new Date('2026-11-04T00:00:00.000Z') }]);
    expect(await stored(r.id)).toMatchObject({ text: 'later', edited_at: new Date('2026-11-05T00:00:00.000Z') });
  });

  it('skips a second message with a clientMessageId the author already used there', async () => {
    const first = row({ client_message_id: 'k1' });
    const twin = row({ client_message_id: 'k1', text: 'twin' });
    await sut.merge('shard-0', [first]);
    await sut.merge('shard-0', [twin, row({ client_message_id: 'k2' })]);
    expect(await stored(twin.id)).toBeUndefined();
    const keys = await sql(cluster.shardUrls[0], `SELECT client_message_id FROM messages WHERE client_message_id IN ('k1', 'k2') ORDER BY 1`);
    expect(keys).toEqual([{ client_message_id: 'k1' }, { client_message_id: 'k2' }]);
  });
});
