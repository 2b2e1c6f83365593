import { Injectable } from '@nestjs/common';
import { COLUMNS, columns, FULL_COLUMNS, FullMessageRow, iso, MERGE_RULE, MessageRow, PageRow, served } from '../shards/message-schema';
import { AFTER_EVERY_ID } from '../shards/uuidv7';
import { ShardRegistry } from '../shards/shard-registry';

export interface NewMessage {
  id: string;
  dialogId: string;
  ringHash: number;
  authorId: string;
  text: string;
  clientMessageId: string | null;
  createdAt: Date;
}

/** A page of messages as built by the shard: see MessagesRepository.pageJson. */
export interface PageJson {
  items: string;
  last: string | null;
  more: boolean;
}

/** A send's idempotency key: see MessagesRepository.findByClientId. */
export interface ClientIdKey {
  dialogId: string;
  hash: number;
  authorId: string;
  clientMessageId: string;
}

/** One page of one dialog, as the API asks for it: see MessagesRepository.pagesJson. */
export interface PageRequest {
  dialogId: string;
  hash: number;
  limit: number;
  /** Only messages older than this id (a `before` cursor). */
  before?: string;
}

/**
 * Newest-first pages of any number of dialogs in one statement, each its own JSON array text,
 * key for key what JSON.stringify(toMessageDto(row)) writes: to_json escapes a string as
 * JSON.stringify does (input is well-formed Unicode, which the API enforces), and createdAt
 * comes from the UUIDv7 id, as in toMessageDto. Each page reads one row more than its limit,
 * to know whether more follow; the ownership check runs once per page, for that dialog's hash.
 */
const PAGES_JSON_SQL = `SELECT p.items, p.last, p.more
  FROM unnest($1::uuid[], $2::int8[], $3::int[], $4::uuid[]) WITH ORDINALITY AS q(dialog_id, hash, lim, before_id, i)
  CROSS JOIN LATERAL (
    SELECT '[' || coalesce(string_agg(
             '{"id":"' || id || '","dialogId":"' || dialog_id || '","authorId":' || to_json(author_id)::text
             || ',"text":' || to_json(text)::text || ',"createdAt":"' || ${iso('uuid_extract_timestamp(id)')}
             || '","editedAt":' || coalesce('"' || ${iso('edited_at')} || '"', 'null') || '}',
             ',' ORDER BY id DESC) FILTER (WHERE n <= q.lim), '') || ']' AS items,
           (array_agg(id ORDER BY id) FILTER (WHERE n <= q.lim))[1] AS last,
           count(*) > q.lim AS more
    FROM (
      SELECT id, dialog_id, author_id, text, edited_at, row_number() OVER (ORDER BY id DESC) AS n
      FROM messages m
      WHERE m.dialog_id = q.dialog_id AND m.id < coalesce(q.before_id, '${AFTER_EVERY_ID}') AND m.deleted_at IS NULL
        AND ${served('q.hash', 'read-alone')}
      ORDER BY m.id DESC LIMIT q.lim + 1
    ) page
  ) p
  ORDER BY q.i`;

const PAGE_COLUMNS = 'id, dialog_id, author_id, text, edited_at, deleted_at';

// Timestamps are kept to the millisecond, the precision a JavaScript Date carries, so a row
// copied between shards through the service compares equal to its original.
const NOW_MS = `date_trunc('milliseconds', now())`;

/**
 * All SQL on the messages table. Every statement names the dialog, so it is one index
 * lookup on one shard; statements are prepared once per connection (named) because they
 * run on every request.
 */
@Injectable()
export class MessagesRepository {
  constructor(private readonly shards: ShardRegistry) {}

  /** Inserts the message, or returns null when this author already sent this clientMessageId. */
  async insert(shard: string, m: NewMessage): Promise<MessageRow | null> {
    const rows = await this.shards.query<MessageRow>(
      shard,
      `INSERT INTO messages (dialog_id, id, ring_hash, author_id, text, client_message_id, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (dialog_id, author_id, client_message_id) WHERE client_message_id IS NOT NULL DO NOTHING
       RETURNING ${COLUMNS}`,
      [m.dialogId, m.id, m.ringHash, m.authorId, m.text, m.clientMessageId, m.createdAt],
      'message_insert',
    );
    return rows[0] ?? null;
  }

  /**
   * Inserts several messages in one statement (one round trip, one commit), each as `insert`
   * would: the rows it returns are those inserted; a message missing from them already had
   * its clientMessageId used (within this batch too: the first in order wins). Any error fails
   * the whole statement, refusal of one hash included; the caller then tries the rows alone.
   */
  async insertMany(shard: string, ms: NewMessage[]): Promise<MessageRow[]> {
    return this.shards.query<MessageRow>(
      shard,
      `INSERT INTO messages (dialog_id, id, ring_hash, author_id, text, client_message_id, created_at)
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::varchar[], $5::text[], $6::varchar[], $7::timestamptz[])
       ON CONFLICT (dialog_id, author_id, client_message_id) WHERE client_message_id IS NOT NULL DO NOTHING
       RETURNING ${COLUMNS}`,
      [
        ms.map((m) => m.dialogId),
        ms.map((m) => m.id),
        ms.map((m) => m.ringHash),
        ms.map((m) => m.authorId),
        ms.map((m) => m.text),
        ms.map((m) => m.clientMessageId),
        ms.map((m) => m.createdAt),
      ],
      'message_insert_many',
    );
  }

  /** Which of these ring hashes the shard takes no writes for now (what a refused batch held). */
  async refusedHashes(shard: string, hashes: number[]): Promise<Set<number>> {
    const rows = await this.shards.query<{ h: string }>(
      shard,
      `SELECT h FROM unnest($1::bigint[]) AS h WHERE NOT shard_serves(h, 'write')`,
      [hashes],
      'message_refused_hashes',
    );
    return new Set(rows.map((r) => Number(r.h)));
  }

  /**
   * The message this author sent with this clientMessageId, if this shard has it, with its
   * revision (during a reshard two shards' copies of it are merged by MERGE_RULE). Like every
   * read of the data path, the shard checks that it serves the hash (here merged with another
   * shard is enough): a shard that gave the arc away, whose copy cleanup may be deleting,
   * refuses rather than answers "none".
   */
  async findByClientId(shard: string, key: ClientIdKey): Promise<MessageRow | null> {
    const [row] = await this.findByClientIds(shard, [key]);
    return row;
  }

  /** findByClientId for any number of keys in one statement, answered in the order asked. */
  async findByClientIds(shard: string, keys: ClientIdKey[]): Promise<Array<MessageRow | null>> {
    const rows = await this.shards.query<MessageRow & { i: string }>(
      shard,
      `SELECT q.i, m.* FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int8[]) WITH ORDINALITY AS q(dialog_id, author_id, client_message_id, hash, i)
       CROSS JOIN LATERAL (
         SELECT ${COLUMNS}, revision FROM messages m
         WHERE m.dialog_id = q.dialog_id AND m.author_id = q.author_id AND m.client_message_id = q.client_message_id AND ${served('q.hash', 'read')}
       ) m`,
      [keys.map((k) => k.dialogId), keys.map((k) => k.authorId), keys.map((k) => k.clientMessageId), keys.map((k) => k.hash)],
      'messages_by_client_ids',
    );
    const found = new Map<number, MessageRow>();
    for (const { i, ...row } of rows) found.set(Number(i), row);
    return keys.map((_, k) => found.get(k + 1) ?? null);
  }

  /** One message with every column, if this shard has it; checked like findByClientId. */
  async findById(shard: string, dialogId: string, hash: number, id: string): Promise<FullMessageRow | null> {
    const rows = await this.shards.query<FullMessageRow>(
      shard,
      `SELECT ${FULL_COLUMNS} FROM messages WHERE dialog_id = $1 AND id = $2 AND ${served('$3', 'read')}`,
      [dialogId, id, hash],
      'message_by_id',
    );
    return rows[0] ?? null;
  }

  /**
   * Live messages of a dialog, newest first, strictly older than `before` when given. The
   * shard checks in the same statement (a one-time filter) that it serves this hash for a read
   * alone; a stale route gets an OwnershipError rather than a page with messages missing.
   */
  async page(shard: string, dialogId: string, hash: number, limit: number, before?: string): Promise<PageRow[]> {
    if (before) {
      return this.shards.query<PageRow>(
        shard,
        `SELECT ${PAGE_COLUMNS} FROM messages
         WHERE dialog_id = $1 AND id < $2 AND deleted_at IS NULL AND ${served('$4', 'read-alone')} ORDER BY id DESC LIMIT $3`,
        [dialogId, before, limit, hash],
        'message_page_before',
      );
    }
    return this.shards.query<PageRow>(
      shard,
      `SELECT ${PAGE_COLUMNS} FROM messages
       WHERE dialog_id = $1 AND deleted_at IS NULL AND ${served('$3', 'read-alone')} ORDER BY id DESC LIMIT $2`,
      [dialogId, limit, hash],
      'message_page',
    );
  }

  /**
   * The same pages as `page`, as the response's bytes, in the order asked: the shard builds
   * each page's items as a JSON array (see PAGES_JSON_SQL), so the service neither parses the
   * rows nor serialises them again. `last` is the oldest item's id, `more` whether older live
   * messages follow. Several pages in one statement share its round trip and its overhead.
   */
  async pagesJson(shard: string, requests: PageRequest[]): Promise<PageJson[]> {
    return this.shards.query<PageJson>(
      shard,
      PAGES_JSON_SQL,
      [requests.map((r) => r.dialogId), requests.map((r) => r.hash), requests.map((r) => r.limit), requests.map((r) => r.before ?? null)],
      'message_pages_json',
    );
  }

  async pageJson(shard: string, request: PageRequest): Promise<PageJson> {
    const [page] = await this.pagesJson(shard, [request]);
    return page;
  }

  /** Like page, tombstones and revisions included, for a page merged from two shards. */
  async pageWithTombstones(shard: string, dialogId: string, hash: number, limit: number, before?: string): Promise<PageRow[]> {
    return this.shards.query<PageRow>(
      shard,
      `SELECT ${PAGE_COLUMNS}, revision FROM messages
       WHERE dialog_id = $1 AND ($2::uuid IS NULL OR id < $2) AND ${served('$4', 'read')} ORDER BY id DESC LIMIT $3`,
      [dialogId, before ?? null, limit, hash],
      'message_page_merged',
    );
  }

  /**
   * Edits the author's own live message; null when there is no such message. The shard checks
   * that it takes writes of this hash even when no row matches, so a stale route is refused
   * rather than answered "not found".
   */
  async edit(shard: string, dialogId: string, hash: number, id: string, authorId: string, text: string): Promise<MessageRow | null> {
    const rows = await this.shards.query<MessageRow>(
      shard,
      `UPDATE messages SET text = $4, edited_at = ${NOW_MS}, revision = revision + 1
       WHERE dialog_id = $1 AND id = $2 AND author_id = $3 AND deleted_at IS NULL AND ${served('$5', 'write')}
       RETURNING ${COLUMNS}`,
      [dialogId, id, authorId, text, hash],
    );
    return rows[0] ?? null;
  }

  /**
   * Soft delete: the row stays as a tombstone (so a copy made during a reshard can never bring
   * it back) but its text is gone.
   */
  async softDelete(shard: string, dialogId: string, hash: number, id: string, authorId: string): Promise<boolean> {
    const rows = await this.shards.query(
      shard,
      `UPDATE messages SET text = '', deleted_at = ${NOW_MS}, revision = revision + 1
       WHERE dialog_id = $1 AND id = $2 AND author_id = $3 AND deleted_at IS NULL AND ${served('$4', 'write')} RETURNING id`,
      [dialogId, id, authorId, hash],
    );
    return rows.length > 0;
  }

  /**
   * Brings copies of rows from another shard into this one by the merge rule: a row absent
   * here is inserted, a row here gives way to a deletion or a higher revision.
   */
  async merge(shard: string, rows: FullMessageRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.shards.query(
      shard,
      `INSERT INTO messages AS m (dialog_id, id, ring_hash, author_id, text, client_message_id, created_at, edited_at, deleted_at, revision)
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::varchar[], $5::text[], $6::varchar[],
                            $7::timestamptz[], $8::timestamptz[], $9::timestamptz[], $10::int[])
       ${MERGE_RULE}`,
      columns(rows),
    );
  }
}

