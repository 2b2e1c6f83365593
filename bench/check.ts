import { Client } from 'pg';
import { arcSegments, Ring, ringHash } from '../src/ring';
import { Api } from './api';
import { BenchDialog } from './seed';

/** A message the API acknowledged (201) during the reshard, keyed by its clientMessageId. */
export interface Acked {
  id: string;
  dialogId: string;
}

export interface CheckResult {
  acked: number;
  /** Acknowledged messages not found exactly once, live, on the shard that owns their dialog. */
  lost: number;
  duplicated: number;
  /** Rows on a shard that the final ring does not give them to (leftovers of the source). */
  misplaced: number;
  rowsBefore: number;
  rowsAfter: number;
  /** Distinct messages the reshard load wrote, acknowledged or not (some were in flight at stop). */
  newRows: number;
  apiDialogs: number;
  apiMessages: number;
  problems: string[];
  ok: boolean;
}

export const CLIENT_ID_PREFIX = 'rs-';

async function query<R>(url: string, sql: string, values: unknown[] = []): Promise<R[]> {
  const client = new Client({ connectionString: url });
  client.on('error', () => undefined); // a server going away fails the query; no crash besides
  await client.connect();
  try {
    return (await client.query(sql, values)).rows as R[];
  } finally {
    await client.end();
  }
}

export async function countRows(shardUrls: Map<string, string>): Promise<number> {
  let total = 0;
  for (const url of shardUrls.values()) total += Number((await query<{ n: string }>(url, 'SELECT count(*) AS n FROM messages'))[0].n);
  return total;
}

/** SQL that is true for rows of the arc this shard owns on `ring`. */
function ownedBy(ring: Ring, shard: string): string {
  return arcSegments(ring.arcOf(shard))
    .map((s) => `(ring_hash >= ${s.from} AND ring_hash < ${s.to})`)
    .join(' OR ');
}

/**
 * After the split: every acknowledged message is on the shard the final ring owns for its
 * dialog, exactly once and live; no shard keeps rows of an arc it gave away; the total
 * equals the rows before plus the new ones (so none of the bulk-loaded rows was lost or
 * doubled either); and a sample of moved dialogs reads back the same through the API.
 */
export async function checkExactlyOnce(
  api: Api,
  ring: Ring,
  shardUrls: Map<string, string>,
  acked: Map<string, Acked>,
  rowsBefore: number,
  dialogs: BenchDialog[],
  movedShard: string,
): Promise<CheckResult> {
  const problems: string[] = [];
  let rowsAfter = 0;
  let misplaced = 0;
  const byClientId = new Map<string, Array<{ shard: string; id: string; deleted: boolean }>>();
  for (const [shard, url] of shardUrls) {
    const [counts] = await query<{ total: string; misplaced: string }>(
      url,
      `SELECT count(*) AS total, count(*) FILTER (WHERE NOT (${ownedBy(ring, shard)})) AS misplaced FROM messages`,
    );
    rowsAfter += Number(counts.total);
    misplaced += Number(counts.misplaced);
    if (Number(counts.misplaced)) problems.push(`${shard} still holds ${counts.misplaced} rows of arcs it does not own`);
    const rows = await query<{ id: string; client_message_id: string; deleted: boolean }>(
      url,
      `SELECT id::text, client_message_id, deleted_at IS NOT NULL AS deleted FROM messages WHERE client_message_id LIKE '${CLIENT_ID_PREFIX}%'`,
    );
    for (const r of rows) {
      const list = byClientId.get(r.client_message_id) ?? [];
      list.push({ shard, id: r.id, deleted: r.deleted });
      byClientId.set(r.client_message_id, list);
    }
  }

  let lost = 0;
  let duplicated = 0;
  for (const rows of byClientId.values()) if (rows.length > 1) duplicated += rows.length - 1;
  for (const [clientId, a] of acked) {
    const rows = byClientId.get(clientId) ?? [];
    const owner = ring.ownerOf(ringHash(a.dialogId));
    const good = rows.filter((r) => r.id === a.id && !r.deleted && r.shard === owner);
    if (good.length !== 1) {
      lost++;
      if (lost <= 5) problems.push(`acknowledged message ${a.id} (${clientId}) found as ${JSON.stringify(rows)}, expected once on ${owner}`);
    }
  }
  if (lost) problems.push(`${lost} acknowledged message(s) not readable exactly once`);
  if (duplicated) problems.push(`${duplicated} duplicate row(s) of a clientMessageId`);
  const expected = rowsBefore + byClientId.size;
  if (rowsAfter !== expected) problems.push(`shards hold ${rowsAfter} rows, expected ${rowsBefore} before + ${byClientId.size} new = ${expected}`);

  const sample = await readBackThroughApi(api, ring, shardUrls, acked, dialogs, movedShard);
  problems.push(...sample.problems);
  return {
    acked: acked.size,
    lost,
    duplicated,
    misplaced,
    rowsBefore,
    rowsAfter,
    newRows: byClientId.size,
    apiDialogs: sample.dialogs,
    apiMessages: sample.messages,
    problems,
    ok: problems.length === 0,
  };
}

const API_SAMPLE = 20;

/**
 * The moved dialogs with the most acknowledged messages, read page by page through the API:
 * each acknowledged id appears once, and the API shows exactly the owner shard's live rows.
 */
async function readBackThroughApi(
  api: Api,
  ring: Ring,
  shardUrls: Map<string, string>,
  acked: Map<string, Acked>,
  dialogs: BenchDialog[],
  movedShard: string,
): Promise<{ dialogs: number; messages: number; problems: string[] }> {
  const ackedByDialog = new Map<string, string[]>();
  for (const a of acked.values()) ackedByDialog.set(a.dialogId, [...(ackedByDialog.get(a.dialogId) ?? []), a.id]);
  const moved = dialogs
    .filter((d) => ring.ownerOf(d.hash) === movedShard)
    .sort((a, b) => (ackedByDialog.get(b.id)?.length ?? 0) - (ackedByDialog.get(a.id)?.length ?? 0))
    .slice(0, API_SAMPLE);
  const problems: string[] = [];
  let messages = 0;
  for (const d of moved) {
    const seen = new Map<string, number>();
    let before: string | null = null;
    do {
      const path: string = `/dialogs/${d.id}/messages?limit=200${before ? `&before=${encodeURIComponent(before)}` : ''}`;
      const page: { items: Array<{ id: string }>; nextCursor: string | null } = await api.call('GET', path, d.tokens[0]);
      for (const m of page.items) seen.set(m.id, (seen.get(m.id) ?? 0) + 1);
      messages += page.items.length;
      before = page.nextCursor;
    } while (before);
    const [{ n }] = await query<{ n: string }>(
      shardUrls.get(movedShard)!,
      'SELECT count(*) AS n FROM messages WHERE dialog_id = $1 AND deleted_at IS NULL',
      [d.id],
    );
    const listed = [...seen.values()].reduce((a, b) => a + b, 0);
    if (listed !== Number(n)) problems.push(`dialog ${d.id}: the API listed ${listed} messages, ${movedShard} holds ${n}`);
    for (const id of ackedByDialog.get(d.id) ?? []) {
      if (seen.get(id) !== 1) problems.push(`dialog ${d.id}: acknowledged ${id} listed ${seen.get(id) ?? 0} times`);
    }
  }
  return { dialogs: moved.length, messages, problems: problems.slice(0, 20) };
}
