import { Injectable } from '@nestjs/common';
import { DialogDb } from '../database/dialog-db';
import { EventRow, NewEvent } from './event.types';

/** What append_events NOTIFYs (the migration spells it too). */
export const EVENTS_CHANNEL = 'chat_events';

/** Where a reader stands against the log: what it may have lost, and what exists at all. */
export interface LogBounds {
  /** The highest id the prune has deleted: a reader below it has lost events. */
  prunedThrough: number;
  /** The highest id issued so far: a reader claiming to be beyond it names an id this log never issued. */
  lastIssued: number;
}

interface RawRow {
  id: string;
  type: EventRow['type'];
  recipients: string[];
  payload: string;
}

const toRow = (r: RawRow): EventRow => ({ id: Number(r.id), type: r.type, recipients: r.recipients, payload: r.payload });

const BOUNDS = `(SELECT pruned_through FROM event_horizon) AS pruned_through,
  (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM events_id_seq) AS last_issued`;

/** dialogdb's `events` log: appended in batches, read in id order, pruned by age. */
@Injectable()
export class EventsRepository {
  constructor(private readonly db: DialogDb) {}

  /**
   * One multi-row insert for a batch, in its order, and a NOTIFY (delivered at commit), by
   * the function `append_events` (migration Events1764288000000): one round trip, and the
   * statement is its own transaction.
   *
   * Readers fetch `id > the last id they read`. Ids come from a sequence when the insert
   * runs, but become visible when the transaction commits: without a lock, instance A could
   * take id 10, instance B id 11 and commit first; a reader would see 11, move past 10, and
   * never see 10 once A commits. The function first takes a transaction-scoped advisory lock
   * (held to the commit), so appends take turns from their first id to their commit, ids
   * become visible in id order, and `id > last` skips nothing. It costs one short
   * transaction per batch, not per event. The payload stays json all the way, so it keeps
   * the text JSON.stringify wrote.
   */
  async append(events: NewEvent[]): Promise<void> {
    const batch = JSON.stringify(events.map((e) => ({ d: e.dialogId, r: [...e.recipients], t: e.type, p: e.payload })));
    await this.db.query('SELECT append_events($1::json)', [batch]);
  }

  /** Events after `afterId`, oldest first, with the log's bounds read in the same snapshot. */
  async after(afterId: number, limit: number): Promise<{ bounds: LogBounds; rows: EventRow[] }> {
    return this.read(afterId, limit, null);
  }

  /** The same, only the events addressed to `userId`: a reconnecting stream's replay. */
  async afterFor(userId: string, afterId: number, limit: number): Promise<{ bounds: LogBounds; rows: EventRow[] }> {
    return this.read(afterId, limit, userId);
  }

  private async read(afterId: number, limit: number, userId: string | null): Promise<{ bounds: LogBounds; rows: EventRow[] }> {
    // One statement, so the bounds and the rows are one snapshot. A replay scans the ids after
    // the client's (at most the retention window) and filters by recipient: no index on
    // recipients, which every insert would pay for, to serve reconnects.
    const [head, ...rest] = await this.db.query<RawRow & { pruned_through: string; last_issued: string }>(
      `SELECT ${BOUNDS}, e.id, e.type, e.recipients, e.payload::text AS payload
       FROM (SELECT 1) one LEFT JOIN LATERAL (
         SELECT id, type, recipients, payload FROM events
         WHERE id > $1 AND ($3::varchar IS NULL OR $3::varchar = ANY (recipients))
         ORDER BY id LIMIT $2
       ) e ON true`,
      [afterId, limit, userId],
    );
    const bounds = { prunedThrough: Number(head.pruned_through), lastIssued: Number(head.last_issued) };
    const rows = head.id === null ? [] : [head, ...rest].map(toRow);
    return { bounds, rows };
  }

  /** The newest id committed (or pruned): where a starting reader begins. */
  async position(): Promise<number> {
    const [row] = await this.db.query<{ id: string }>(
      'SELECT greatest((SELECT max(id) FROM events), (SELECT pruned_through FROM event_horizon)) AS id',
    );
    return Number(row.id);
  }

  /**
   * Deletes events older than `retentionMs` and raises the horizon to the highest id deleted.
   * Any instance may run it at any time: two at once delete disjoint rows or wait on each other.
   */
  async prune(retentionMs: number): Promise<number> {
    const [row] = await this.db.query<{ deleted: string }>(
      `WITH gone AS (
         DELETE FROM events WHERE created_at < now() - make_interval(secs => $1::double precision / 1000) RETURNING id
       ), raised AS (
         UPDATE event_horizon SET pruned_through = greatest(pruned_through, (SELECT max(id) FROM gone))
         WHERE EXISTS (SELECT 1 FROM gone)
       )
       SELECT count(*) AS deleted FROM gone`,
      [retentionMs],
    );
    return Number(row.deleted);
  }
}
