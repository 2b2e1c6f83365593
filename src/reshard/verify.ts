import { FullMessageRow } from '../shards/message-schema';
import { uuidv7Ms } from '../shards/uuidv7';
import type { MarkRow } from './shard-ops.repository';

export interface ChunkDifferences {
  missing: string[];
  changed: string[];
  extra: string[];
}

// Instances' clocks differ a little; a message created this long before the job cannot
// have been written to the target by the job's own traffic.
export const CLOCK_SKEW_MS = 60_000;

function sameContent(a: FullMessageRow, b: FullMessageRow): boolean {
  const t = (d: Date | null) => (d ? d.getTime() : null);
  return (
    a.text === b.text &&
    a.author_id === b.author_id &&
    String(a.ring_hash) === String(b.ring_hash) &&
    a.client_message_id === b.client_message_id &&
    t(a.created_at) === t(b.created_at) &&
    t(a.edited_at) === t(b.edited_at) &&
    t(a.deleted_at) === t(b.deleted_at) &&
    Number(a.revision) === Number(b.revision)
  );
}

/**
 * Compares the source's rows of one key range with the target's rows of the same range.
 * Every source row must be on the target, identical unless the target's copy has a higher
 * revision (edited or deleted there during the job: live traffic goes to the target during
 * the copy, and the source takes no writes then), and a deletion on the source is never
 * undone. A target row the source never had is "extra" unless it was created during the job.
 */
export function compareRows(source: FullMessageRow[], target: FullMessageRow[], jobStartedAt: Date): ChunkDifferences {
  const start = jobStartedAt.getTime();
  const onTarget = new Map(target.map((row) => [row.id, row]));
  const onSource = new Set(source.map((row) => row.id));
  // The same clientMessageId sent through two instances in the instant of a ring switch:
  // the copy on the target stands for both (see ShardOpsRepository.copyBatch).
  const idempotencyKey = (row: FullMessageRow) => `${row.dialog_id}|${row.author_id}|${row.client_message_id}`;
  const keysOnTarget = new Set(target.filter((row) => row.client_message_id !== null).map(idempotencyKey));
  const result: ChunkDifferences = { missing: [], changed: [], extra: [] };
  for (const row of source) {
    const copy = onTarget.get(row.id);
    if (!copy) {
      if (row.client_message_id === null || !keysOnTarget.has(idempotencyKey(row))) result.missing.push(row.id);
    } else if (!sameContent(row, copy)) {
      const laterOnTarget = Number(copy.revision) > Number(row.revision) && (!row.deleted_at || copy.deleted_at !== null);
      if (!laterOnTarget) result.changed.push(row.id);
    }
  }
  for (const row of target) {
    if (!onSource.has(row.id) && uuidv7Ms(row.id) < start - CLOCK_SKEW_MS) result.extra.push(row.id);
  }
  return result;
}

/**
 * Compares the source's read marks of one key range with the target's: every source mark
 * must be on the target, at the same message or a later one (moved forward there during the
 * job). Names each differing mark as `dialogId/userId`. Target marks the source never had
 * were set during the job: no difference.
 */
export function compareMarks(source: MarkRow[], target: MarkRow[]): string[] {
  const name = (m: MarkRow) => `${m.dialog_id}/${m.user_id}`;
  const onTarget = new Map(target.map((m) => [name(m), m.message_id]));
  return source.filter((m) => !(onTarget.get(name(m))! >= m.message_id)).map(name);
}
