/**
 * The shard's messages table as every room that touches a shard sees it: the row shapes,
 * the column lists, the merge rule and the ownership filter. The table itself is made by
 * the shard migrations (migrations/shard/); the ownership trigger that refuses a write
 * outside the shard's arcs is in 1764028800000-ownership.ts.
 */

/** What a page of messages reads: no created_at, which is the time in the UUIDv7 id. */
export interface PageRow {
  id: string;
  dialog_id: string;
  author_id: string;
  text: string;
  edited_at: Date | null;
  deleted_at: Date | null;
  /** How many edits and deletes the message has had; read where two shards' copies are merged. */
  revision?: number;
}

export interface MessageRow extends PageRow {
  created_at: Date;
}

/** Every column: what a copy between shards must carry. */
export interface FullMessageRow extends MessageRow {
  ring_hash: string;
  client_message_id: string | null;
  revision: number;
}

/** A timestamp column as SQL text the way Date.toISOString writes it (milliseconds, UTC, "Z"). */
export const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** Every column but those a copy adds. */
export const COLUMNS = 'id, dialog_id, author_id, text, created_at, edited_at, deleted_at';
/** Every column: what a copy between shards must carry. */
export const FULL_COLUMNS = `${COLUMNS}, ring_hash, client_message_id, revision`;

/**
 * How two copies of one message merge, wherever they meet (the copier, a pull before an
 * edit, a cancel's merge back): a deletion is final, otherwise the higher revision wins. Each
 * edit runs on the one shard accepting writes for the row, after pulling the other copy, so
 * the higher revision is the later write: no clock is compared.
 */
export const MERGE_RULE = `
  ON CONFLICT (dialog_id, id) DO UPDATE SET
    text = EXCLUDED.text, edited_at = EXCLUDED.edited_at, deleted_at = EXCLUDED.deleted_at, revision = EXCLUDED.revision
  WHERE m.deleted_at IS NULL AND (EXCLUDED.deleted_at IS NOT NULL OR EXCLUDED.revision > m.revision)`;

/** The copy of a message that MERGE_RULE keeps. */
export function mergeWinner<R extends { deleted_at: Date | string | null; revision?: number }>(kept: R, incoming: R): R {
  if (kept.deleted_at) return kept;
  if (incoming.deleted_at || (incoming.revision ?? 0) > (kept.revision ?? 0)) return incoming;
  return kept;
}

/**
 * The shard's ownership check as a one-time filter of a statement (see the shard migration
 * `Ownership`): true where the shard serves the hash in parameter `hash` for `access`, else
 * SQLSTATE SF001, which the registry turns into an OwnershipError.
 */
export function served(hash: string, access: 'write' | 'read' | 'read-alone'): string {
  return `(shard_serves(${hash}, '${access}') OR shard_refuses(${hash}, '${access}'))`;
}

/** Rows as column arrays, for one INSERT ... SELECT FROM unnest(...) per batch. */
export function columns(rows: FullMessageRow[]): unknown[][] {
  return [
    rows.map((r) => r.dialog_id),
    rows.map((r) => r.id),
    rows.map((r) => r.ring_hash),
    rows.map((r) => r.author_id),
    rows.map((r) => r.text),
    rows.map((r) => r.client_message_id),
    rows.map((r) => r.created_at),
    rows.map((r) => r.edited_at),
    rows.map((r) => r.deleted_at),
    rows.map((r) => r.revision),
  ];
}
