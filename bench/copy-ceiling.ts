import { Client } from 'pg';
import { FULL_COLUMNS } from '../src/shards/message-schema';
import { Segment } from '../src/ring';
import { copyPipe } from './pg-copy';

export interface PipeResult {
  rows: number;
  seconds: number;
  rate: number;
}

const SCRATCH = 'copy_ceiling';

/**
 * The physical ceiling of moving an arc: `COPY (SELECT ... ORDER BY ring_hash, id) TO STDOUT`
 * on the source piped into `COPY ... FROM STDIN` on the target, binary format, between the
 * same two servers the split uses and over the same rows in the copier's order. The rows go
 * into a scratch table with the messages table's indexes (LIKE ... INCLUDING ALL), dropped
 * afterwards, so the split still starts from an empty target.
 */
export async function measureCopyPipe(sourceUrl: string, targetUrl: string, segments: Segment[]): Promise<PipeResult> {
  const source = new Client({ connectionString: sourceUrl });
  const target = new Client({ connectionString: targetUrl });
  for (const c of [source, target]) c.on('error', () => undefined); // failures surface through the queries
  await source.connect();
  await target.connect();
  try {
    await target.query(`DROP TABLE IF EXISTS ${SCRATCH}`);
    await target.query(`CREATE TABLE ${SCRATCH} (LIKE messages INCLUDING ALL)`);
    // Start both servers from a clean checkpoint so neither run pays for earlier writes.
    await Promise.all([source.query('CHECKPOINT'), target.query('CHECKPOINT')]);
    const started = performance.now();
    let rows = 0;
    for (const s of segments) {
      rows += await copyPipe(
        source,
        `COPY (SELECT ${FULL_COLUMNS} FROM messages WHERE ring_hash >= ${s.from} AND ring_hash < ${s.to} ORDER BY ring_hash, id) TO STDOUT (FORMAT binary)`,
        target,
        `COPY ${SCRATCH} (${FULL_COLUMNS}) FROM STDIN (FORMAT binary)`,
      );
    }
    const seconds = (performance.now() - started) / 1000;
    return { rows, seconds, rate: rows / seconds };
  } finally {
    await target.query(`DROP TABLE IF EXISTS ${SCRATCH}`).catch(() => undefined);
    await target.query('CHECKPOINT').catch(() => undefined);
    await source.end();
    await target.end();
  }
}
