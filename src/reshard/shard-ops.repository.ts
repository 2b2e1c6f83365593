import { Injectable } from '@nestjs/common';
import { Segment } from '../ring';
import { columns, FULL_COLUMNS, FullMessageRow } from '../messages/messages.repository';
import { ShardRegistry } from '../shards/shard-registry';

export interface Key {
  hash: string;
  id: string;
}

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
      await tx.query('DROP TRIGGER IF EXISTS messages_fence ON messages');
      await tx.query('CREATE TRIGGER messages_fence BEFORE INSERT OR UPDATE OR DELETE ON messages FOR EACH ROW EXECUTE FUNCTION messages_fence()');
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

  /** The next rows of a segment after `after`, in (ring_hash, id) order: an index range scan. */
  async scan(shard: string, segment: Segment, after: Key | null, limit: number, upTo?: Key): Promise<FullMessageRow[]> {
    return this.shards.query<FullMessageRow>(
      shard,
      `SELECT ${FULL_COLUMNS} FROM messages
       WHERE ring_hash >= $1 AND ring_hash < $2
         AND ($3::bigint IS NULL OR (ring_hash, id) > ($3::bigint, $4::uuid))
         AND ($6::bigint IS NULL OR (ring_hash, id) <= ($6::bigint, $7::uuid))
       ORDER BY ring_hash, id LIMIT $5`,
      [segment.from, segment.to, after?.hash ?? null, after?.id ?? null, limit, upTo?.hash ?? null, upTo?.id ?? null],
    );
  }

  /** Deletes up to `limit` rows of a segment through the fence; returns how many went. */
  async deleteBatch(shard: string, segment: Segment, limit: number): Promise<number> {
    return this.shards.transaction(shard, async (tx) => {
      await tx.query(BYPASS_FENCE);
      const { rowCount } = await tx.query(
        `DELETE FROM messages WHERE ctid = ANY(ARRAY(
           SELECT ctid FROM messages WHERE ring_hash >= $1 AND ring_hash < $2 LIMIT $3))`,
        [segment.from, segment.to, limit],
      );
      return rowCount ?? 0;
    });
  }

  /**
   * Copies rows to a shard that may already hold versions of them (written there during the
   * job): a deletion is never undone, and the later edit wins, so an edit or delete that a
   * stale instance made on the source just before the fence went up is kept too. A row whose
   * clientMessageId another row of the same author already holds there is the same message
   * sent twice in the instant of a ring switch; the one already there stands.
   */
  async merge(shard: string, rows: FullMessageRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.shards.transaction(shard, async (tx) => {
      await tx.query(BYPASS_FENCE);
      await tx.query(
        `INSERT INTO messages AS m (dialog_id, id, ring_hash, author_id, text, client_message_id, created_at, edited_at, deleted_at)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::varchar[], $5::text[], $6::varchar[],
                              $7::timestamptz[], $8::timestamptz[], $9::timestamptz[])
                AS v(dialog_id, id, ring_hash, author_id, text, client_message_id, created_at, edited_at, deleted_at)
         WHERE v.client_message_id IS NULL OR NOT EXISTS (
           SELECT 1 FROM messages d WHERE d.dialog_id = v.dialog_id AND d.author_id = v.author_id
             AND d.client_message_id = v.client_message_id AND d.id <> v.id)
         ON CONFLICT (dialog_id, id) DO UPDATE SET
           deleted_at = coalesce(m.deleted_at, EXCLUDED.deleted_at),
           text = CASE WHEN m.deleted_at IS NOT NULL OR EXCLUDED.deleted_at IS NOT NULL THEN ''
                       WHEN EXCLUDED.edited_at > coalesce(m.edited_at, '-infinity') THEN EXCLUDED.text
                       ELSE m.text END,
           edited_at = greatest(m.edited_at, EXCLUDED.edited_at)`,
        columns(rows),
      );
    });
  }
}
