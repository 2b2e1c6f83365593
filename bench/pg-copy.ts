import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client } from 'pg';
import { from as copyFromStdin, to as copyToStdout } from 'pg-copy-streams';

/**
 * Feeds `COPY ... FROM STDIN` from an async source of text or bytes, with backpressure.
 * Returns the number of rows the server reports.
 */
export async function copyFrom(client: Client, sql: string, source: AsyncIterable<Buffer | string>): Promise<number> {
  const into = client.query(copyFromStdin(sql));
  await pipeline(Readable.from(source), into);
  return into.rowCount;
}

/**
 * `COPY (select) TO STDOUT` on one server piped into `COPY ... FROM STDIN` on another, with
 * backpressure from the target back to the source: the raw ceiling of moving rows, through
 * the same library the service's copier uses (each chunk is what one socket read brought,
 * many rows at a time).
 */
export async function copyPipe(source: Client, copyOutSql: string, target: Client, copyInSql: string): Promise<number> {
  const out = source.query(copyToStdout(copyOutSql));
  const into = target.query(copyFromStdin(copyInSql));
  await pipeline(out, into);
  return into.rowCount;
}
