import { Injectable } from '@nestjs/common';
import { served } from '../shards/message-schema';
import { ShardRegistry } from '../shards/shard-registry';

/** A write of a read mark on the write shard: see ReadMarksRepository.advance. */
export interface MarkWrite {
  /** The message is in the dialog (on this shard, or on another shard of the route). */
  found: boolean;
  /** The mark this write set, or null when it was not ahead of the one here (or the message is unknown). */
  moved: string | null;
  /** The mark this shard held before. */
  previous: string | null;
}

/** What another shard of a moving dialog's route knows: whether it has the message, and its mark. */
export interface MarkPeek {
  found: boolean;
  mark: string | null;
}

/** One dialog of a page, as asked of one shard: see ReadMarksRepository.summaries. */
export interface SummaryRequest {
  dialogId: string;
  hash: number;
  /** Read merged with another shard: rows come with tombstones and revisions, for the service to merge. */
  merged: boolean;
  /** Count unread after this id instead of after this shard's mark (a later round of a merge). */
  after?: string;
  /** Newest rows older than this id (a later round of a merge). */
  before?: string;
}

/** An unread row from a shard read merged: [id, deleted]. */
export type UnreadRow = [string, boolean];
/** A newest row: [id, authorId, text preview, deletedAt (ISO) or null, revision]. */
export type NewestRow = [string, string, string, string | null, number];

export interface ShardSummary {
  /** This shard's mark of the caller. */
  mark: string | null;
  /** Live unread messages from others (up to the limit asked); for a merged request, counted before merging. */
  unread: number;
  /** Merged requests only: the unread rows, tombstones included, in id order, up to the limit asked. */
  unreadRows: UnreadRow[] | null;
  /** Newest first: the newest live message alone, or (merged) the newest few rows, tombstones included. */
  newest: NewestRow[] | null;
}

/** Below and above every UUID: bounds that select nothing in a later round of a merge. */
export const NIL_UUID = '00000000-0000-0000-0000-000000000000';
export const MAX_UUID = 'ffffffff-ffff-ffff-ffff-ffffffffffff';

/**
 * A page of dialogs' unread counts and newest messages from one shard, in one statement. Per
 * dialog: the caller's mark; the unread messages after it, a LIMIT subquery walking the
 * (dialog_id, id) primary key forward, so a long-unread dialog costs no more than `$7` rows;
 * the newest message walking it backward. A dialog read alone needs only counts and the one
 * newest live row; one read merged with another shard gets its rows with tombstones and
 * revisions, which the service merges by the merge rule. The shard checks once per dialog
 * that it serves the hash for that kind of read.
 */
const SUMMARIES_SQL = `SELECT mk.message_id AS mark, u.unread, u.unread_rows, l.newest
  FROM unnest($1::uuid[], $2::int8[], $3::bool[], $4::uuid[], $5::uuid[]) WITH ORDINALITY AS q(dialog_id, hash, merged, after_id, before_id, i)
  LEFT JOIN read_marks mk ON mk.dialog_id = q.dialog_id AND mk.user_id = $6::varchar
  CROSS JOIN LATERAL (
    SELECT (count(*) FILTER (WHERE NOT x.dead))::int AS unread,
           CASE WHEN q.merged THEN coalesce(json_agg(json_build_array(x.id, x.dead) ORDER BY x.id), '[]') END AS unread_rows
    FROM (
      SELECT m.id, m.deleted_at IS NOT NULL AS dead FROM messages m
      WHERE m.dialog_id = q.dialog_id AND m.id > coalesce(q.after_id, mk.message_id, '${NIL_UUID}')
        AND m.author_id <> $6::varchar AND (q.merged OR m.deleted_at IS NULL)
      ORDER BY m.id LIMIT $7
    ) x
  ) u
  CROSS JOIN LATERAL (
    SELECT json_agg(json_build_array(n.id, n.author_id, left(n.text, $9), n.deleted_at, n.revision) ORDER BY n.id DESC) AS newest
    FROM (
      SELECT m.id, m.author_id, m.text, m.deleted_at, m.revision FROM messages m
      WHERE m.dialog_id = q.dialog_id AND m.id < coalesce(q.before_id, '${MAX_UUID}') AND (q.merged OR m.deleted_at IS NULL)
      ORDER BY m.id DESC LIMIT CASE WHEN q.merged THEN $8 ELSE 1 END
    ) n
  ) l
  WHERE CASE WHEN q.merged THEN ${served('q.hash', 'read')} ELSE ${served('q.hash', 'read-alone')} END
  ORDER BY q.i`;

/**
 * A mark moves forward only: the upsert changes the row only when the new id is greater (ids
 * are UUIDv7, so id order is time order). The message must be in the dialog: here, or (`$5`)
 * on another shard of a moving dialog's route. The shard checks that it takes writes of the
 * hash even when nothing is written, so a stale route is refused rather than answered "not
 * found". `previous` is read in the statement's snapshot, before the upsert.
 */
const ADVANCE_SQL = `WITH msg AS (
    SELECT $5::bool OR EXISTS (SELECT 1 FROM messages WHERE dialog_id = $1 AND id = $4) AS found
    WHERE ${served('$3', 'write')}
  ), up AS (
    INSERT INTO read_marks AS r (dialog_id, user_id, ring_hash, message_id, updated_at)
    SELECT $1::uuid, $2::varchar, $3::bigint, $4::uuid, now() FROM msg WHERE msg.found
    ON CONFLICT (dialog_id, user_id) DO UPDATE SET message_id = EXCLUDED.message_id, updated_at = EXCLUDED.updated_at
    WHERE r.message_id < EXCLUDED.message_id
    RETURNING r.message_id
  )
  SELECT coalesce((SELECT found FROM msg), false) AS found, (SELECT message_id FROM up) AS moved,
         (SELECT message_id FROM read_marks WHERE dialog_id = $1 AND user_id = $2) AS previous`;

/** The SQL of read marks and of the dialog list's per-shard summaries. */
@Injectable()
export class ReadMarksRepository {
  constructor(private readonly shards: ShardRegistry) {}

  async advance(shard: string, dialogId: string, hash: number, userId: string, messageId: string, foundElsewhere: boolean): Promise<MarkWrite> {
    const [row] = await this.shards.query<MarkWrite>(shard, ADVANCE_SQL, [dialogId, userId, hash, messageId, foundElsewhere], 'read_mark_advance');
    return row;
  }

  /** Read merged: this shard is one of a moving dialog's two. */
  async peek(shard: string, dialogId: string, hash: number, userId: string, messageId: string): Promise<MarkPeek> {
    const [row] = await this.shards.query<MarkPeek>(
      shard,
      `SELECT EXISTS (SELECT 1 FROM messages WHERE dialog_id = $1 AND id = $3) AS found,
              (SELECT message_id FROM read_marks WHERE dialog_id = $1 AND user_id = $2) AS mark
       WHERE ${served('$4', 'read')}`,
      [dialogId, userId, messageId, hash],
      'read_mark_peek',
    );
    return row;
  }

  /** SUMMARIES_SQL for these dialogs, answered in the order asked. */
  async summaries(shard: string, userId: string, requests: SummaryRequest[], unreadLimit: number, newestLimit: number, previewChars: number): Promise<ShardSummary[]> {
    const rows = await this.shards.query<{ mark: string | null; unread: number; unread_rows: UnreadRow[] | null; newest: NewestRow[] | null }>(
      shard,
      SUMMARIES_SQL,
      [
        requests.map((r) => r.dialogId),
        requests.map((r) => r.hash),
        requests.map((r) => r.merged),
        requests.map((r) => r.after ?? null),
        requests.map((r) => r.before ?? null),
        userId,
        unreadLimit,
        newestLimit,
        previewChars,
      ],
      'dialog_summaries',
    );
    return rows.map((r) => ({ mark: r.mark, unread: r.unread, unreadRows: r.unread_rows, newest: r.newest }));
  }
}
