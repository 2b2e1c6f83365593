import { setTimeout as sleep } from 'node:timers/promises';
import { pipeline } from 'node:stream/promises';
import { Injectable } from '@nestjs/common';
import { escapeLiteral, PoolClient } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { Segment } from '../ring';
import { LOCK_NOT_AVAILABLE, UNIQUE_VIOLATION } from '../common/db-errors';
import { ArcGrant } from './workflow';
import { FULL_COLUMNS, FullMessageRow, MERGE_RULE } from '../shards/message-schema';
import { ShardRegistry } from '../shards/shard-registry';

export interface Key {
  hash: string;
  id: string;
}

/**
 * Rows of a segment after one key and up to another; parameters $1 to $6, from keyRange.
 * The plain bounds on ring_hash repeat what the row comparisons imply, for the planner: it
 * estimates a row comparison's selectivity poorly, and with only the segment's bounds to go
 * by it planned a chunk of a few thousand rows as a scan of a large part of the table (a
 * parallel sequential scan, or a skip scan of the primary key for `id >= $8`).
 */
const KEY_RANGE = `ring_hash >= $1 AND ring_hash < $2
  AND ($3::bigint IS NULL OR (ring_hash >= $3::bigint AND (ring_hash, id) > ($3::bigint, $4::uuid)))
  AND ($5::bigint IS NULL OR (ring_hash <= $5::bigint AND (ring_hash, id) <= ($5::bigint, $6::uuid)))`;

function keyRange(segment: Segment, after: Key | null, upTo: Key | null): unknown[] {
  return [segment.from, segment.to, after?.hash ?? null, after?.id ?? null, upTo?.hash ?? null, upTo?.id ?? null];
}

/** The key of the row at offset $7 of a KEY_RANGE (0: its first row), in (ring_hash, id) order. */
const NTH_KEY = `SELECT ring_hash::text AS hash, id FROM messages WHERE ${KEY_RANGE} ORDER BY ring_hash, id OFFSET $7 LIMIT 1`;

// Resharding's own deletes of rows that moved away pass the ownership check, for their transaction only.
const BYPASS_OWNERSHIP = `SET LOCAL chat.ownership_bypass = 'on'`;
// Every write on a shard holds the arcs still to its commit with ACCESS SHARE on shard_arcs
// (the ownership trigger's own lookup takes it; the copier takes it first); a change of arcs
// takes ACCESS EXCLUSIVE, which waits for those writes and holds later ones back (see the shard
// migration `ArcsTableLock`).
const HOLD_ARCS = 'LOCK TABLE shard_arcs IN ACCESS SHARE MODE';
const CHANGE_ARCS = 'LOCK TABLE shard_arcs IN ACCESS EXCLUSIVE MODE';
// A change of arcs waits for writes in flight and makes new ones queue behind it: never long.
const ARCS_LOCK_TIMEOUT_MS = 500;
const ARCS_ATTEMPTS = 6;

/** A read mark's place in a walk over an arc: read marks are keyed by (ring_hash, dialog_id, user_id). */
export interface MarkKey {
  hash: string;
  dialogId: string;
  userId: string;
}

export interface MarkRow {
  dialog_id: string;
  user_id: string;
  ring_hash: string;
  message_id: string;
  updated_at: Date;
}

/** Read marks of a segment after one key and up to another; parameters $1 to $8, from markRange. Plain bounds as in KEY_RANGE. */
const MARK_RANGE = `ring_hash >= $1 AND ring_hash < $2
  AND ($3::bigint IS NULL OR (ring_hash >= $3::bigint AND (ring_hash, dialog_id, user_id) > ($3::bigint, $4::uuid, $5::varchar)))
  AND ($6::bigint IS NULL OR (ring_hash <= $6::bigint AND (ring_hash, dialog_id, user_id) <= ($6::bigint, $7::uuid, $8::varchar)))`;

function markRange(segment: Segment, after: MarkKey | null, upTo: MarkKey | null): unknown[] {
  return [segment.from, segment.to, after?.hash ?? null, after?.dialogId ?? null, after?.userId ?? null, upTo?.hash ?? null, upTo?.dialogId ?? null, upTo?.userId ?? null];
}

const MARK_COLUMNS = 'dialog_id, user_id, ring_hash::text AS ring_hash, message_id, updated_at';

const markKey = (row: MarkRow): MarkKey => ({ hash: row.ring_hash, dialogId: row.dialog_id, userId: row.user_id });

/** A range the planner puts under this many rows is counted instead. */
const EXACT_BELOW = 100_000;

/** The SQL resharding runs on shards: arcs served, range scans in (ring_hash, id) order, bulk moves. */
@Injectable()
export class ShardOpsRepository {
  constructor(private readonly shards: ShardRegistry) {}

  /**
   * Sets the ranges the shard serves, replacing all others (a range whose mode is unchanged
   * keeps its copy progress). The ACCESS EXCLUSIVE lock waits for every write that passed the old
   * check, so once this returns, no write outside the new ranges can still commit, and
   * a copy started afterwards sees every row written under the old ranges. Only DML: a busy
   * shard is made to wait at most ARCS_LOCK_TIMEOUT_MS per attempt, then retried with backoff.
   */
  async setArcs(shard: string, grants: ArcGrant[], ringVersion: number, reason: string, jobId: string | null): Promise<void> {
    // One Query message: the lock is taken and released within one round trip. Sent
    // statement by statement, it was held across each round trip, and on a busy instance
    // every request of the shard queued behind it for as long as the instance took to send
    // the next statement.
    const change = `BEGIN; SET LOCAL lock_timeout = ${ARCS_LOCK_TIMEOUT_MS}; ${CHANGE_ARCS}; ${writeArcsSql(grants, ringVersion, reason, jobId)} COMMIT;`;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.shards.query(shard, change, []);
        return;
      } catch (err) {
        if ((err as { code?: string }).code !== LOCK_NOT_AVAILABLE || attempt >= ARCS_ATTEMPTS) throw err;
        await sleep(50 * 2 ** attempt);
      }
    }
  }

  /**
   * Sets the ranges of a shard that never had any (a database from before ownership, or the
   * first start of a deployment). A shard that already has its ranges keeps them: only a
   * reshard's steps change those. Returns whether it set them.
   */
  async initArcs(shard: string, grants: ArcGrant[], ringVersion: number): Promise<boolean> {
    return this.shards.transaction(shard, async (tx) => {
      await tx.query(CHANGE_ARCS);
      const { rows } = await tx.query('SELECT 1 FROM shard_ownership');
      if (rows.length > 0) return false;
      await tx.query(writeArcsSql(grants, ringVersion, 'first start', null));
      return true;
    });
  }

  /**
   * The planner's row estimate from the column's statistics, which costs no scan; under
   * EXACT_BELOW rows (where statistics of a young table can be far off) an exact count, which
   * costs little there.
   */
  async estimate(shard: string, segment: Segment): Promise<number> {
    const int = (v: number | string) => BigInt(v).toString();
    const where = `ring_hash >= ${int(segment.from)} AND ring_hash < ${int(segment.to)}`;
    // EXPLAIN takes no parameters: the bounds are integers, inlined.
    const [plan] = await this.shards.query<{ 'QUERY PLAN': Array<{ Plan: { 'Plan Rows': number } }> }>(
      shard,
      `EXPLAIN (FORMAT JSON) SELECT 1 FROM messages WHERE ${where}`,
      [],
    );
    const estimate = Math.round(plan['QUERY PLAN'][0].Plan['Plan Rows']);
    if (estimate >= EXACT_BELOW) return estimate;
    const [row] = await this.shards.query<{ n: string }>(shard, `SELECT count(*) AS n FROM messages WHERE ${where}`, []);
    return Number(row.n);
  }

  /**
   * Rows of a segment after `after` and up to `upTo`, in (ring_hash, id) order: an index range
   * scan. With `since`, only rows whose UUIDv7 id is that new or newer.
   */
  async scan(shard: string, segment: Segment, after: Key | null, limit: number, upTo: Key | null = null, since: string | null = null): Promise<FullMessageRow[]> {
    return this.shards.query<FullMessageRow>(
      shard,
      `SELECT ${FULL_COLUMNS} FROM messages WHERE ${KEY_RANGE} AND ($8::uuid IS NULL OR id >= $8::uuid) ORDER BY ring_hash, id LIMIT $7`,
      [...keyRange(segment, after, upTo), limit, since],
    );
  }

  /** The key `size` rows into a segment after `after`, or null when fewer rows are left. */
  async chunkEnd(shard: string, segment: Segment, after: Key | null, size: number): Promise<Key | null> {
    const [row] = await this.shards.query<Key>(shard, NTH_KEY, [...keyRange(segment, after, null), size - 1]);
    return row ?? null;
  }

  /**
   * A checksum of a key range's rows older than `before` (a UUIDv7 bound), so verification
   * compares two short strings per chunk and reads rows only where they differ: the sum of
   * each row's 64-bit hash. A sum needs neither the rows' order (no sort) nor their text (no
   * string as long as the chunk), and a row missing or changed moves it by a random 64-bit
   * amount. Postgres hashes a timestamp's value, not its text, so servers in different time
   * zones agree; the hash functions are the ones hash partitioning relies on, stable across
   * versions.
   */
  async digest(shard: string, segment: Segment, after: Key | null, upTo: Key | null, before: string): Promise<{ rows: number; digest: string | null }> {
    const [row] = await this.shards.query<{ rows: string; digest: string | null }>(
      shard,
      `SELECT count(*) AS rows, sum(hash_record_extended(
         ROW(id, dialog_id, author_id, text, client_message_id, ring_hash, revision, created_at, edited_at, deleted_at), 0))::text AS digest
       FROM messages WHERE ${KEY_RANGE} AND id < $7::uuid`,
      [...keyRange(segment, after, upTo), before],
    );
    return { rows: Number(row.rows), digest: row.digest };
  }

  /**
   * Deletes the next `limit` rows of a segment after `after`, in key order, past the
   * ownership check (the shard no longer serves these hashes).
   * Returns the last key deleted, to go on from, or null once the segment is empty. Walking
   * the key forward means no batch wades through the index entries its predecessors killed.
   */
  async deleteBatch(shard: string, segment: Segment, after: Key | null, limit: number): Promise<Key | null> {
    return this.shards.transaction(shard, async (tx) => {
      await tx.query(BYPASS_OWNERSHIP);
      const [end] = (await tx.query<Key>(NTH_KEY, [...keyRange(segment, after, null), limit - 1])).rows;
      // No end: fewer than `limit` rows are left, and all of them go.
      await tx.query(`DELETE FROM messages WHERE ${KEY_RANGE}`, keyRange(segment, after, end ?? null));
      return end ?? null;
    });
  }

  /**
   * Moves the next `limit` rows of a segment after `after`, in (ring_hash, id) order, from one
   * shard into another that may already hold versions of them (written there during the job).
   * Rows travel as binary COPY straight from server to server into a staging table, never
   * parsed on the event loop that serves live requests, and move from there into `messages`
   * (see insertStage) under the receiving shard's ownership check. In the same transaction the
   * receiving shard records how far the segment is complete (`copied_below`), so it can
   * serve reads of those hashes alone. Returns how many came and the last key (null at the
   * segment's end, which marks the whole segment complete).
   */
  async copyBatch(from: string, to: string, segment: Segment, after: Key | null, limit: number): Promise<CopiedBatch> {
    return this.shards.transaction(to, async (target) => {
      await target.query(`SET LOCAL lock_timeout = ${ARCS_LOCK_TIMEOUT_MS}`);
      // First, as every write does: a change of arcs never sits between this batch's two writes.
      await target.query(HOLD_ARCS);
      // Once per pooled session; ON COMMIT DELETE ROWS empties it for the next batch.
      await target.query(`CREATE TEMP TABLE IF NOT EXISTS reshard_stage ON COMMIT DELETE ROWS AS SELECT ${FULL_COLUMNS} FROM messages WITH NO DATA`);
      const rows = await this.shards.transaction(from, async (source) => {
        const out = source.query(copyTo(`COPY (SELECT ${FULL_COLUMNS} FROM messages WHERE ${rangeSql(segment, after, source)} ORDER BY ring_hash, id LIMIT ${Math.trunc(limit)}) TO STDOUT (FORMAT binary)`));
        const into = target.query(copyFrom(`COPY reshard_stage FROM STDIN (FORMAT binary)`));
        await pipeline(out, into);
        return into.rowCount;
      });
      let last: Key | null = null;
      if (rows > 0) {
        // The ownership check once for the batch instead of once per row in the trigger: the
        // lock on shard_arcs taken above keeps the arcs as they are until this transaction ends. A
        // batch across two arcs (or refused) leaves the check to the trigger, row by row.
        const { rows: [{ served }] } = await target.query<{ served: boolean }>(STAGE_SERVED);
        if (served) await target.query(`SET LOCAL chat.ownership_bypass = 'on'`);
        await insertStage(target);
        [last] = (await target.query<Key>('SELECT ring_hash::text AS hash, id FROM reshard_stage ORDER BY ring_hash DESC, id DESC LIMIT 1')).rows;
      }
      // Rows of hashes below the last one copied are all here now; the last hash may go on in the next batch.
      await target.query(
        `UPDATE shard_arcs SET copied_below = greatest(coalesce(copied_below, 0), $3)
         WHERE mode = 'writer' AND from_hash <= $1 AND to_hash >= $2`,
        [segment.from, segment.to, last ? last.hash : segment.to],
      );
      return { rows, last };
    });
  }

  /** Read marks of a segment after `after` and up to `upTo`, in key order: an index range scan. */
  async scanMarks(shard: string, segment: Segment, after: MarkKey | null, limit: number, upTo: MarkKey | null = null): Promise<MarkRow[]> {
    return this.shards.query<MarkRow>(
      shard,
      `SELECT ${MARK_COLUMNS} FROM read_marks WHERE ${MARK_RANGE} ORDER BY ring_hash, dialog_id, user_id LIMIT $9`,
      [...markRange(segment, after, upTo), limit],
    );
  }

  /**
   * Moves the next `limit` read marks of a segment after `after` from one shard into another,
   * where a mark may already have moved on (set there during the job): the greater message id
   * wins, so a mark never goes back. Marks are one per participant of a dialog, far fewer than
   * messages: they pass through the service as rows, under the receiving shard's ownership
   * check (its trigger). Returns how many and the last key, null at the segment's end.
   */
  async copyMarks(from: string, to: string, segment: Segment, after: MarkKey | null, limit: number): Promise<CopiedBatch<MarkKey>> {
    const rows = await this.scanMarks(from, segment, after, limit);
    if (rows.length === 0) return { rows: 0, last: null };
    await this.shards.query(
      to,
      `INSERT INTO read_marks AS r (dialog_id, user_id, ring_hash, message_id, updated_at)
       SELECT * FROM unnest($1::uuid[], $2::varchar[], $3::bigint[], $4::uuid[], $5::timestamptz[])
       ON CONFLICT (dialog_id, user_id) DO UPDATE SET message_id = EXCLUDED.message_id, updated_at = EXCLUDED.updated_at
       WHERE r.message_id < EXCLUDED.message_id`,
      [rows.map((r) => r.dialog_id), rows.map((r) => r.user_id), rows.map((r) => r.ring_hash), rows.map((r) => r.message_id), rows.map((r) => r.updated_at)],
    );
    return { rows: rows.length, last: markKey(rows[rows.length - 1]) };
  }

  /** Deletes the next `limit` read marks of a segment after `after`, past the ownership check, as deleteBatch does messages. */
  async deleteMarks(shard: string, segment: Segment, after: MarkKey | null, limit: number): Promise<MarkKey | null> {
    return this.shards.transaction(shard, async (tx) => {
      await tx.query(BYPASS_OWNERSHIP);
      const [end] = (
        await tx.query<MarkRow>(`SELECT ${MARK_COLUMNS} FROM read_marks WHERE ${MARK_RANGE} ORDER BY ring_hash, dialog_id, user_id OFFSET $9 LIMIT 1`, [
          ...markRange(segment, after, null),
          limit - 1,
        ])
      ).rows;
      const last = end ? markKey(end) : null;
      await tx.query(`DELETE FROM read_marks WHERE ${MARK_RANGE}`, markRange(segment, after, last));
      return last;
    });
  }
}

/** How many rows a batch moved, and the key to go on from (null at the range's end). */
export interface CopiedBatch<K = Key> {
  rows: number;
  last: K | null;
}

/**
 * The rows of a segment after a key, as SQL with the values inlined (COPY takes no
 * parameters): the bounds are integers and the id is quoted by the driver.
 */
function rangeSql(segment: Segment, after: Key | null, client: PoolClient): string {
  const int = (v: number | string) => BigInt(v).toString();
  const range = `ring_hash >= ${int(segment.from)} AND ring_hash < ${int(segment.to)}`;
  return after ? `${range} AND ring_hash >= ${int(after.hash)} AND (ring_hash, id) > (${int(after.hash)}, ${client.escapeLiteral(after.id)}::uuid)` : range;
}

/** Whether one arc this shard takes writes for holds every hash of the staged batch. */
const STAGE_SERVED = `
  SELECT EXISTS (
    SELECT 1 FROM shard_arcs, (SELECT min(ring_hash) AS lo, max(ring_hash) AS hi FROM reshard_stage) s
    WHERE s.lo >= from_hash AND s.hi < to_hash AND mode IN ('owner', 'writer')) AS served`;

/**
 * Moves the staged rows into `messages`. Most batches meet none of their rows on the target,
 * and a plain insert costs far less than the merge, whose ON CONFLICT and clientMessageId probe
 * run for every row. A batch that meets a row the target already holds (a message edited,
 * deleted or retried there during the job) fails on a unique index, rolls back to the
 * savepoint, and merges instead: the result is the merge's in both cases.
 */
async function insertStage(target: PoolClient): Promise<void> {
  try {
    // One round trip: the savepoint, the insert, and its release unless the insert failed.
    await target.query(`SAVEPOINT reshard_insert; INSERT INTO messages (${FULL_COLUMNS}) SELECT ${FULL_COLUMNS} FROM reshard_stage; RELEASE SAVEPOINT reshard_insert`);
  } catch (err) {
    if ((err as { code?: string }).code !== UNIQUE_VIOLATION) throw err;
    await target.query('ROLLBACK TO SAVEPOINT reshard_insert');
    await target.query(MERGE_STAGE);
  }
}

/** Rows copied between shards merge by the one rule every copy of a message follows. */
const MERGE_STAGE = `
  INSERT INTO messages AS m (${FULL_COLUMNS})
  SELECT ${FULL_COLUMNS} FROM reshard_stage v
  WHERE v.client_message_id IS NULL OR NOT EXISTS (
    SELECT 1 FROM messages d WHERE d.dialog_id = v.dialog_id AND d.author_id = v.author_id
      AND d.client_message_id = v.client_message_id AND d.id <> v.id)
  ${MERGE_RULE}`;

/**
 * The statements that replace a shard's arcs, with their values inlined (so they can go in
 * one simple-protocol Query message): bounds as integers, modes and reason quoted.
 */
function writeArcsSql(grants: ArcGrant[], ringVersion: number, reason: string, jobId: string | null): string {
  const int = (v: number | string) => BigInt(v).toString();
  const from = `ARRAY[${grants.map((g) => int(g.from)).join(',')}]::bigint[]`;
  const to = `ARRAY[${grants.map((g) => int(g.to)).join(',')}]::bigint[]`;
  const modes = `ARRAY[${grants.map((g) => escapeLiteral(g.mode)).join(',')}]::text[]`;
  return `
    DELETE FROM shard_arcs a WHERE NOT EXISTS (
      SELECT 1 FROM unnest(${from}, ${to}, ${modes}) AS d(f, t, m)
      WHERE d.f = a.from_hash AND d.t = a.to_hash AND d.m = a.mode);
    INSERT INTO shard_arcs (from_hash, to_hash, mode, job_id)
      SELECT f, t, m, ${jobId === null ? 'NULL' : `${escapeLiteral(jobId)}::uuid`} FROM unnest(${from}, ${to}, ${modes}) AS d(f, t, m)
      ON CONFLICT (from_hash) DO NOTHING;
    INSERT INTO shard_ownership (ring_version, reason) VALUES (${int(ringVersion)}, ${escapeLiteral(reason)})
      ON CONFLICT (one) DO UPDATE SET ring_version = EXCLUDED.ring_version, reason = EXCLUDED.reason, updated_at = now();`;
}
