import { mergeWinner } from '../shards/message-schema';
import { uuidv7Time } from '../shards/uuidv7';
import { MAX_UUID, NIL_UUID, NewestRow, ShardSummary, UnreadRow } from './read-marks.repository';

/** unreadCount stops here: a dialog a user has not opened for months costs no more than one read yesterday. */
export const UNREAD_CAP = 999;
/** lastMessage.text is the message's first this many characters (Unicode code points). */
export const PREVIEW_CHARS = 100;
/** The newest rows each shard of a moving dialog returns, tombstones included, for the merge to find the newest live one. */
export const NEWEST_ROWS = 4;

export interface LastMessage {
  id: string;
  authorId: string;
  text: string;
  createdAt: string;
}

export interface DialogSummary {
  /** Null (with lastMessage) when the dialog's shard cannot be reached right now. */
  unreadCount: number | null;
  lastMessage: LastMessage | null;
}

export function toLastMessage(row: NewestRow): LastMessage {
  return { id: row[0], authorId: row[1], text: row[2], createdAt: uuidv7Time(row[0]).toISOString() };
}

/** A dialog read from one shard: the shard did all of it. */
export function plainSummary(part: ShardSummary): DialogSummary {
  return { unreadCount: Math.min(part.unread, UNREAD_CAP), lastMessage: part.newest?.[0] ? toLastMessage(part.newest[0]) : null };
}

/** The greatest of some ids (UUIDv7: the latest), ignoring absent ones. */
export const maxId = (ids: Array<string | null | undefined>): string | null => ids.reduce<string | null>((m, id) => (id && (m === null || id > m) ? id : m), null);

/**
 * A moving dialog's summary merged from its shards' answers, over as many rounds as it takes.
 * Each shard returns only the first rows after its own mark and the newest few, so each round
 * is exact only up to where the shards that filled their limit stopped; past that, another
 * round continues from there (rare: it takes tombstones among the unread, or a stale mark on
 * one shard with many messages after it).
 */
export class SummaryMerge {
  /** The mark in force: the greatest any shard holds (the copier keeps the greater too). */
  private mark: string | null = null;
  private counted = 0;
  private unreadDone = false;
  private last: LastMessage | null | undefined = undefined;
  private rounds = 0;
  /** Where the next round resumes: unread after this id, newest before this id. */
  private after: string | undefined;
  private before: string | undefined;

  constructor(
    private readonly unreadLimit: number,
    private readonly newestLimit: number,
  ) {}

  get done(): boolean {
    return this.unreadDone && this.last !== undefined;
  }

  result(): DialogSummary {
    return { unreadCount: Math.min(this.counted, UNREAD_CAP), lastMessage: this.last ?? null };
  }

  /** What the next round asks of each shard; a part already settled asks for nothing. */
  next(): { after: string; before: string } {
    return { after: this.unreadDone ? MAX_UUID : this.after!, before: this.last !== undefined ? NIL_UUID : this.before! };
  }

  /** Takes one round's answers, one per shard of the route. */
  add(parts: ShardSummary[]): void {
    // Later rounds read after an explicit id; the marks come from the first.
    if (this.rounds++ === 0) this.mark = maxId(parts.map((p) => p.mark));
    if (!this.unreadDone) this.addUnread(parts.map((p) => p.unreadRows ?? []));
    if (this.last === undefined) this.addNewest(parts.map((p) => p.newest ?? []));
  }

  private addUnread(lists: UnreadRow[][]): void {
    const from = maxId([this.mark, this.after]);
    // Each full list is complete only up to its last id; the round is exact up to the least of those.
    const full = lists.filter((rows) => rows.length >= this.unreadLimit).map((rows) => rows[rows.length - 1][0]);
    const upTo = full.length ? full.reduce((a, b) => (a < b ? a : b)) : null;
    const dead = new Map<string, boolean>();
    for (const rows of lists) {
      for (const [id, deleted] of rows) {
        if ((from !== null && id <= from) || (upTo !== null && id > upTo)) continue;
        // A deletion is final, whichever shard holds it.
        dead.set(id, (dead.get(id) ?? false) || deleted);
      }
    }
    for (const deleted of dead.values()) if (!deleted) this.counted++;
    if (this.counted >= UNREAD_CAP || upTo === null) this.unreadDone = true;
    else this.after = maxId([from, upTo])!;
  }

  private addNewest(lists: NewestRow[][]): void {
    // Newest first: each full list is complete only down to its oldest row.
    const full = lists.filter((rows) => rows.length >= this.newestLimit).map((rows) => rows[rows.length - 1][0]);
    const downTo = maxId(full);
    const byId = new Map<string, { row: NewestRow; deleted_at: string | null; revision: number }>();
    for (const rows of lists) {
      for (const row of rows) {
        if (downTo !== null && row[0] < downTo) continue;
        const copy = { row, deleted_at: row[3], revision: row[4] };
        const kept = byId.get(row[0]);
        byId.set(row[0], kept ? mergeWinner(kept, copy) : copy);
      }
    }
    const newest = [...byId.values()].filter((c) => c.deleted_at === null).sort((a, b) => (a.row[0] < b.row[0] ? 1 : -1))[0];
    if (newest) this.last = toLastMessage(newest.row);
    else if (downTo === null) this.last = null;
    else this.before = downTo;
  }
}
