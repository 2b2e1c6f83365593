import { v7 as uuidv7 } from 'uuid';
import { plainSummary, SummaryMerge, UNREAD_CAP } from './dialog-summary';
import type { NewestRow, ShardSummary, UnreadRow } from './read-marks.repository';

/** Ids in time order. */
const ids = (n: number) => Array.from({ length: n }, (_, i) => uuidv7({ msecs: 1_700_000_000_000 + i }));

/** What one shard answers: its mark, its unread rows after it (up to `limit`), its newest rows (up to `newest`). */
function shard(opts: { mark?: string | null; unread?: UnreadRow[]; newest?: NewestRow[] }): ShardSummary {
  return { mark: opts.mark ?? null, unread: 0, unreadRows: opts.unread ?? [], newest: opts.newest ?? [] };
}

const live = (id: string): UnreadRow => [id, false];
const dead = (id: string): UnreadRow => [id, true];
const row = (id: string, opts: { deleted?: boolean; revision?: number; text?: string } = {}): NewestRow => [
  id,
  'bob',
  opts.text ?? `t ${id.slice(-4)}`,
  opts.deleted ? '2026-11-26T00:00:00.000Z' : null,
  opts.revision ?? 0,
];

describe('dialog summaries', () => {
  it('a dialog read alone: the shard counted, the cap applies, no message is null', () => {
    const [a] = ids(1);
    expect(plainSummary({ mark: null, unread: 5, unreadRows: null, newest: [row(a)] })).toEqual({
      unreadCount: 5,
      lastMessage: { id: a, authorId: 'bob', text: `t ${a.slice(-4)}`, createdAt: expect.any(String) },
    });
    expect(plainSummary({ mark: null, unread: 5000, unreadRows: null, newest: null })).toEqual({ unreadCount: UNREAD_CAP, lastMessage: null });
  });

  it('merges two shards in one round: the greater mark, copies counted once, a deletion on either side final', () => {
    const m = ids(8);
    const sut = new SummaryMerge(10, 3);
    // The target has the newer mark (m[2]) and a tombstone of m[4]; the source a stale mark (m[0]).
    sut.add([
      shard({ mark: m[2], unread: [live(m[3]), dead(m[4]), live(m[5])], newest: [row(m[5], { revision: 1, text: 'edited' }), row(m[4], { deleted: true })] }),
      shard({ mark: m[0], unread: [live(m[1]), live(m[2]), live(m[3]), live(m[4]), live(m[5])], newest: [row(m[5]), row(m[4]), row(m[3])] }),
    ]);
    expect(sut.done).toBe(true);
    expect(sut.result()).toMatchObject({ unreadCount: 2, lastMessage: { id: m[5], text: 'edited' } });
  });

  it('goes on past where a full answer stopped, and settles at the cap', () => {
    const m = ids(12);
    const sut = new SummaryMerge(3, 2);
    // The source's answer is full at m[3]: beyond it, it may hold more.
    sut.add([
      shard({ mark: null, unread: [dead(m[1]), live(m[5])], newest: [row(m[11], { deleted: true }), row(m[10], { deleted: true })] }),
      shard({ mark: null, unread: [live(m[1]), live(m[2]), live(m[3])], newest: [row(m[11])] }),
    ]);
    expect(sut.done).toBe(false);
    // m[2] and m[3] live so far; m[5] is past the exact range, counted in the next round.
    expect(sut.next()).toEqual({ after: m[3], before: m[10] });
    sut.add([shard({ unread: [live(m[5])], newest: [row(m[9])] }), shard({ unread: [live(m[4]), live(m[5])], newest: [] })]);
    expect(sut.done).toBe(true);
    expect(sut.result()).toMatchObject({ unreadCount: 4, lastMessage: { id: m[9] } });
  });

  it('a stale mark on one shard with a full answer below the mark in force asks again from that mark', () => {
    const m = ids(10);
    const sut = new SummaryMerge(3, 5);
    sut.add([shard({ mark: m[6], unread: [live(m[7])] }), shard({ mark: null, unread: [live(m[1]), live(m[2]), live(m[3])] })]);
    expect(sut.next().after).toBe(m[6]);
    sut.add([shard({ unread: [live(m[7])] }), shard({ unread: [live(m[7]), live(m[8])] })]);
    expect(sut.result().unreadCount).toBe(2);
    expect(sut.result().lastMessage).toBeNull();
  });
});
