import { FullMessageRow } from '../shards/message-schema';
import type { MarkRow } from './shard-ops.repository';
import { compareMarks, compareRows } from './verify';

const jobStart = new Date('2026-11-22T10:00:00.000Z');
// UUIDv7 ids whose embedded time is well before the job, and one created during it.
const before = (n: number) => `019aa${String(n).padStart(3, '0')}-0000-7000-8000-000000000000`;
const during = `${Math.floor(jobStart.getTime() + 5000).toString(16).padStart(12, '0').replace(/^(.{8})(.{4})$/, '$1-$2')}-7000-8000-000000000001`;

function row(id: string, over: Partial<FullMessageRow> = {}): FullMessageRow {
  return {
    id,
    dialog_id: '2a2b3c4d-0000-4000-8000-000000000000',
    ring_hash: '1500000000',
    author_id: 'alice',
    text: 'hello',
    client_message_id: null,
    created_at: new Date('2026-11-01T00:00:00.000Z'),
    edited_at: null,
    deleted_at: null,
    revision: 0,
    ...over,
  };
}

describe('compareRows', () => {
  it('passes identical copies', () => {
    const rows = [row(before(1)), row(before(2))];
    expect(compareRows(rows, rows.map((r) => ({ ...r })), jobStart)).toEqual({ missing: [], changed: [], extra: [] });
  });

  it('names a row the target lacks', () => {
    expect(compareRows([row(before(1)), row(before(2))], [row(before(1))], jobStart).missing).toEqual([before(2)]);
  });

  it('takes a twin with the same clientMessageId on the target as the same message', () => {
    const twin = row(before(3), { client_message_id: 'k' });
    expect(compareRows([row(before(2), { client_message_id: 'k' })], [twin], jobStart).missing).toEqual([]);
    expect(compareRows([row(before(2), { client_message_id: 'k' })], [row(before(3), { client_message_id: 'other' })], jobStart).missing).toEqual([before(2)]);
  });

  it('names a row altered behind the job', () => {
    const sut = compareRows([row(before(1))], [row(before(1), { text: 'tampered' })], jobStart);
    expect(sut.changed).toEqual([before(1)]);
  });

  it('accepts a copy edited or deleted through the service during the job: a higher revision', () => {
    const edited = row(before(1), { text: 'fixed', edited_at: new Date(jobStart.getTime() + 1000), revision: 1 });
    const deleted = row(before(2), { text: '', deleted_at: new Date(jobStart.getTime() + 1000), revision: 1 });
    expect(compareRows([row(before(1)), row(before(2))], [edited, deleted], jobStart)).toEqual({ missing: [], changed: [], extra: [] });
  });

  it('judges by revision, not by any clock: a changed copy at the same revision is a difference', () => {
    // Dated during the job by the target's clock, but no edit went through the service.
    const edited = row(before(1), { text: 'fixed', edited_at: new Date(jobStart.getTime() + 1000) });
    expect(compareRows([row(before(1))], [edited], jobStart).changed).toEqual([before(1)]);
    // Dated long before the job by a skewed clock, yet a later revision: a real edit.
    const skewed = row(before(2), { text: 'fixed', edited_at: new Date(jobStart.getTime() - 3_600_000), revision: 1 });
    expect(compareRows([row(before(2))], [skewed], jobStart).changed).toEqual([]);
  });

  it('never accepts a deletion undone on the target, whatever its revision', () => {
    const deleted = row(before(1), { text: '', deleted_at: new Date(jobStart.getTime() - 1000), revision: 1 });
    const revived = row(before(1), { text: 'back', revision: 2 });
    expect(compareRows([deleted], [revived], jobStart).changed).toEqual([before(1)]);
  });

  it('accepts messages sent to the target during the job, but not old rows from nowhere', () => {
    const sut = compareRows([], [row(during), row(before(7))], jobStart);
    expect(sut.extra).toEqual([before(7)]);
  });
});

describe('compareMarks', () => {
  const dialog = '2a2b3c4d-0000-4000-8000-000000000000';
  const mark = (user: string, message: string): MarkRow => ({ dialog_id: dialog, user_id: user, ring_hash: '1500000000', message_id: message, updated_at: new Date() });

  it('accepts a target mark at the same message or a later one, and marks set on the target alone', () => {
    expect(compareMarks([mark('alice', before(2)), mark('bob', before(3))], [mark('alice', before(2)), mark('bob', before(7)), mark('carol', before(1))])).toEqual([]);
  });

  it('names a source mark missing on the target, or behind there', () => {
    expect(compareMarks([mark('alice', before(5)), mark('bob', before(3)), mark('carol', before(3))], [mark('alice', before(4)), mark('carol', before(3))])).toEqual([
      `${dialog}/alice`,
      `${dialog}/bob`,
    ]);
  });
});
