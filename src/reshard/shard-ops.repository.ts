import { pipeline } from 'node:stream/promises';
import { Injectable } from '@nestjs/common';
import { PoolClient } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { Segment } from '../ring';
import { FULL_COLUMNS, FullMessageRow } from '../messages/messages.repository';
import { ShardRegistry } from '../shards/shard-registry';

export interface Key {
  hash: string;
  id: string;
}

/** Rows of a segment after one key and up to another; parameters $1 to $6, from keyRange. */
const KEY_RANGE = `ring_hash >= $1 AND ring_hash < $2
  AND ($3::bigint IS NULL OR (ring_hash, id) > ($3::bigint, $4::uuid))
  AND ($5::bigint IS NULL OR (ring_hash, id) <= ($5::bigint, $6::uuid))`;

function keyRange(segment: Segment, after: Key | null, upTo: Key | null): unknown[] {
  return [segment.from, segment.to, after?.hash ?? null, after?.id ?? null, upTo?.hash ?? null, upTo?.id ?? null];
}

/** The key of the row at offset $7 of a KEY_RANGE (0: its first row), in (ring_hash, id) order. */
const NTH_KEY = `SELECT ring_hash::text AS hash, id FROM messages WHERE ${KEY_RANGE} ORDER BY ring_hash, id OFFSET $7 LIMIT 1`;

// The resharding steps that move rows out of a fenced arc say so for their transaction only.
const BYPASS_FENCE = `SET LOCAL chat.fence_bypass = 'on'`;

/** The SQL resharding runs on shards: fences, range scans in (ring_hash, id) order, bulk moves. */
@Injectable()
export class ShardOpsRepository {
  constructor(private readonly shards: ShardRegistry) {}

  /**
   * Stops the shard accepting writes in these hash ranges. Creating the trigger waits for
   * writes already under way, so once this returns no write in the ranges can still land.
   */
  async installFence(shard: string, jobId: string, segments: Segment[], target: string): Promise<void> {
    await this.shards.transaction(shard, async (tx) => {
      await tx.query('DELETE FROM ring_fence WHERE job_id = $1', [jobId]);
      for (const s of segments) {
        await tx.query('INSERT INTO ring_fence (job_id, from_hash, to_hash, target) VALUES ($1, $2, $3, $4)', [jobId, s.from, s.to, target]);
      }
      // CREATE OR REPLACE locks out writes only; a DROP first would stop reads too.
      await tx.query('CREATE OR REPLACE TRIGGER messages_fence BEFORE INSERT OR UPDATE OR DELETE ON messages FOR EACH ROW EXECUTE FUNCTION messages_fence()');
    });
  }

  /** Lifts this job's fence; the trigger goes with the last fence so the hot path is bare again. */
  async dropFence(shard: string, jobId: string): Promise<void> {
    await this.shards.transaction(shard, async (tx) => {
      await tx.query('DELETE FROM ring_fence WHERE job_id = $1', [jobId]);
      const { rows } = await tx.query('SELECT 1 FROM ring_fence LIMIT 1');
      if (rows.length === 0) await tx.query('DROP TRIGGER IF EXISTS messages_fence ON messages');
    });
  }

  async count(shard: string, segment: Segment): Promise<number> {
    const [row] = await this.shards.query<{ n: string }>(
      shard,
      'SELECT count(*) AS n FROM messages WHERE ring_hash >= $1 AND ring_hash < $2',
      [segment.from, segment.to],
    );
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
   * compares two short strings per chunk and reads rows only where they differ. Times go in
   * as epoch milliseconds, so servers in different time zones agree.
   */
  async digest(shard: string, segment: Segment, after: Key | null, upTo: Key | null, before: string): Promise<{ rows: number; digest: string | null }> {
    const ms = (column: string) => `(extract(epoch FROM ${column}) * 1000)::bigint`;
    const [row] = await this.shards.query<{ rows: string; digest: string | null }>(
      shard,
      `SELECT count(*) AS rows, md5(string_agg(
         ROW(id, dialog_id, author_id, text, client_message_id, ring_hash, ${ms('created_at')}, ${ms('edited_at')}, ${ms('deleted_at')})::text,
         E'\\n' ORDER BY ring_hash, id)) AS digest
       FROM messages WHERE ${KEY_RANGE} AND id < $7::uuid`,
      [...keyRange(segment, after, upTo), before],
    );
    return { rows: Number(row.rows), digest: row.digest };
  }

  /**
   * Deletes the next `limit` rows of a segment after `after`, in key order, through the fence.
   * Returns the last key deleted, to go on from, or null once the segment is empty. Walking
   * the key forward means no batch wades through the index entries its predecessors killed.
   */
  async deleteBatch(shard: string, segment: Segment, after: Key | null, limit: number): Promise<Key | null> {
    return this.shards.transaction(shard, async (tx) => {
      await tx.query(BYPASS_FENCE);
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
   * parsed on the event loop that serves live requests, and are merged from there by one
   * statement. Returns how many came and the last key (null at the segment's end).
   */
  async copyBatch(from: string, to: string, segment: Segment, after: Key | null, limit: number): Promise<CopiedBatch> {
    return this.shards.transaction(to, async (target) => {
      await target.query(BYPASS_FENCE);
      // Once per pooled session; ON COMMIT DELETE ROWS empties it for the next batch.
      await target.query(`CREATE TEMP TABLE IF NOT EXISTS reshard_stage ON COMMIT DELETE ROWS AS SELECT ${FULL_COLUMNS} FROM messages WITH NO DATA`);
      const rows = await this.shards.transaction(from, async (source) => {
        const out = source.query(copyTo(`COPY (SELECT ${FULL_COLUMNS} FROM messages WHERE ${rangeSql(segment, after, source)} ORDER BY ring_hash, id LIMIT ${Math.trunc(limit)}) TO STDOUT (FORMAT binary)`));
        const into = target.query(copyFrom(`COPY reshard_stage FROM STDIN (FORMAT binary)`));
        await pipeline(out, into);
        return into.rowCount;
      });
      if (rows === 0) return { rows, last: null };
      await target.query(MERGE_STAGE);
      const [last] = (await target.query<Key>('SELECT ring_hash::text AS hash, id FROM reshard_stage ORDER BY ring_hash DESC, id DESC LIMIT 1')).rows;
      return { rows, last };
    });
  }
}

export interface CopiedBatch {
  rows: number;
  last: Key | null;
}

/**
 * The rows of a segment after a key, as SQL with the values inlined (COPY takes no
 * parameters): the bounds are integers and the id is quoted by the driver.
 */
function rangeSql(segment: Segment, after: Key | null, client: PoolClient): string {
  const int = (v: number | string) => BigInt(v).toString();
  const range = `ring_hash >= ${int(segment.from)} AND ring_hash < ${int(segment.to)}`;
  return after ? `${range} AND (ring_hash, id) > (${int(after.hash)}, ${client.escapeLiteral(after.id)}::uuid)` : range;
}

/**
 * The merge rule for rows copied between shards: a deletion is never undone, and the later
 * edit wins, so an edit or delete that a stale instance made on the source just before the
 * fence went up is kept too. A row whose clientMessageId another row of the same author
 * already holds there is the same message sent twice in the instant of a ring switch; the one
 * already there stands.
 */
const MERGE_STAGE = `
  INSERT INTO messages AS m (${FULL_COLUMNS})
  SELECT ${FULL_COLUMNS} FROM reshard_stage v
  WHERE v.client_message_id IS NULL OR NOT EXISTS (
    SELECT 1 FROM messages d WHERE d.dialog_id = v.dialog_id AND d.author_id = v.author_id
      AND d.client_message_id = v.client_message_id AND d.id <> v.id)
  ON CONFLICT (dialog_id, id) DO UPDATE SET
    deleted_at = coalesce(m.deleted_at, EXCLUDED.deleted_at),
    text = CASE WHEN m.deleted_at IS NOT NULL OR EXCLUDED.deleted_at IS NOT NULL THEN ''
                WHEN EXCLUDED.edited_at > coalesce(m.edited_at, '-infinity') THEN EXCLUDED.text
                ELSE m.text END,
    edited_at = greatest(m.edited_at, EXCLUDED.edited_at)`;
