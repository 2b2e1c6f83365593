import { Client } from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { Ring, ringHash } from '../src/ring';
import { Api, inParallel } from './api';
import { copyFrom } from './pg-copy';

/** A dialog of the bench: two participants, and where the ring put it when it was created. */
export interface BenchDialog {
  id: string;
  hash: number;
  shard: string;
  members: [string, string];
  tokens: [string, string];
}

/** Who talks in the bench's dialogs: `pairs` pairs of users, named `${names[0]}-k` and `${names[1]}-k`. */
export interface Pairs {
  pairs: number;
  names: [string, string];
}

const BENCH_PAIRS: Pairs = { pairs: 50, names: ['alice', 'bob'] };

/** Dialogs between pairs of users (50 unless told), created through the API like any client would. */
export async function createDialogs(api: Api, count: number, ring: Ring, { pairs, names }: Pairs = BENCH_PAIRS): Promise<BenchDialog[]> {
  return inParallel(
    Array.from({ length: count }, (_, k) => k),
    16,
    async (k) => {
      const members: [string, string] = [`${names[0]}-${k % pairs}`, `${names[1]}-${k % pairs}`];
      const tokens: [string, string] = [api.token(members[0]), api.token(members[1])];
      const dialog = await api.call<{ id: string }>('POST', '/dialogs', tokens[0], { participantIds: [members[1]], title: `bench ${k}` });
      const hash = ringHash(dialog.id);
      return { id: dialog.id, hash, shard: ring.ownerOf(hash), members, tokens };
    },
  );
}

/** Each member of these dialogs with a token of theirs, once. */
export function memberTokens(dialogs: BenchDialog[]): Map<string, string> {
  return new Map(dialogs.flatMap((d) => d.members.map((m, i) => [m, d.tokens[i]] as const)));
}

const COLUMNS = 'dialog_id, id, ring_hash, author_id, text, client_message_id, created_at, edited_at, deleted_at';
const DAY_MS = 86_400_000;
const CHUNK = 256 * 1024;

/**
 * Message history for `dialogs`, `perDialog` each, as COPY text lines: UUIDv7 ids whose time
 * is spread over the 30 days before the run (so live messages are always newer), created_at
 * read from the id as the service does, authors alternating, no clientMessageId.
 */
async function* historyLines(dialogs: BenchDialog[], perDialog: number): AsyncGenerator<string> {
  const end = Date.now() - 3_600_000;
  const step = Math.floor((30 * DAY_MS) / perDialog);
  let buffer = '';
  for (const d of dialogs) {
    for (let j = 0; j < perDialog; j++) {
      const msecs = end - (perDialog - j) * step;
      const id = uuidv7({ msecs });
      const text = `history ${j} of ${perDialog}: the quick brown fox jumps over the lazy dog`;
      buffer += `${d.id}\t${id}\t${d.hash}\t${d.members[j % 2]}\t${text}\t\\N\t${new Date(msecs).toISOString()}\t\\N\t\\N\n`;
      if (buffer.length >= CHUNK) {
        yield buffer;
        buffer = '';
      }
    }
  }
  if (buffer) yield buffer;
}

/**
 * Loads `rows` messages straight into a shard with COPY: far faster than sending them, and
 * the rows are exactly what the service would have written (ring_hash, ids, timestamps).
 * VACUUM ANALYZE afterwards, as after any bulk load, so the measurements that follow do not
 * pay for the load's hint bits, statistics or autovacuum.
 */
export async function loadHistory(shardUrl: string, dialogs: BenchDialog[], rows: number): Promise<number> {
  const perDialog = Math.ceil(rows / dialogs.length);
  const client = new Client({ connectionString: shardUrl });
  client.on('error', () => undefined); // a server going away fails the query; no crash besides
  await client.connect();
  try {
    const loaded = await copyFrom(client, `COPY messages (${COLUMNS}) FROM STDIN`, historyLines(dialogs, perDialog));
    await client.query('VACUUM ANALYZE messages');
    await client.query('CHECKPOINT');
    return loaded;
  } finally {
    await client.end();
  }
}
