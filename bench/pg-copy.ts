import { Client } from 'pg';

/**
 * COPY through plain `pg`, which has no COPY API of its own (pg-copy-streams is not a
 * dependency). `client.query()` accepts any object with a `submit(connection)` method and
 * hands it the protocol messages of its statement, which is all a COPY needs; this is the
 * same hook pg-copy-streams uses.
 */

/** The part of pg's internal Connection that a COPY talks to. */
interface Connection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
  sendCopyFail(message: string): void;
  stream: NodeJS.ReadWriteStream & { writableNeedDrain?: boolean };
}

/** One simple-protocol COPY statement; resolves with the row count of its CommandComplete. */
abstract class CopyStatement {
  readonly done: Promise<number>;
  protected connection?: Connection;
  private rowCount = 0;
  private settle!: { resolve: (n: number) => void; reject: (e: Error) => void };
  // pg assigns a callback to a submittable passed without one; it is not used.
  callback?: unknown;

  constructor(private readonly text: string) {
    this.done = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.done.catch(() => undefined); // awaited by the caller; never an unhandled rejection
  }

  submit(connection: Connection): void {
    this.connection = connection;
    connection.query(this.text);
  }

  handleCommandComplete(msg: { text: string }): void {
    this.rowCount = Number(/(\d+)$/.exec(msg.text)?.[1] ?? 0);
  }

  handleReadyForQuery(): void {
    this.settle.resolve(this.rowCount);
  }

  // pg forgets the statement on an error, so the ReadyForQuery after it never reaches us.
  handleError(err: Error): void {
    this.settle.reject(err);
  }

  handleCopyInResponse(connection: Connection): void {
    connection.sendCopyFail('this statement does not read from STDIN');
  }

  handleCopyData(_msg: { chunk: Buffer }): void {}
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handlePortalSuspended(): void {}
  handleEmptyQuery(): void {}
}

/** `COPY ... TO STDOUT`: every CopyData chunk goes to `onChunk` as it arrives. */
class CopyOut extends CopyStatement {
  constructor(
    text: string,
    private readonly onChunk: (chunk: Buffer) => void,
  ) {
    super(text);
  }

  override handleCopyData(msg: { chunk: Buffer }): void {
    this.onChunk(msg.chunk);
  }

  /** The socket the rows arrive on: pausing it pushes back on the server through TCP. */
  get socket(): NodeJS.ReadWriteStream | undefined {
    return this.connection?.stream;
  }
}

/** `COPY ... FROM STDIN`: `ready` resolves once the server accepts data. */
class CopyIn extends CopyStatement {
  readonly ready: Promise<void>;
  private accept!: () => void;

  constructor(text: string) {
    super(text);
    this.ready = new Promise((resolve) => (this.accept = resolve));
  }

  override handleCopyInResponse(): void {
    this.accept();
  }

  /** Sends one chunk; resolves at once unless the socket's buffer is full. */
  write(chunk: Buffer): Promise<void> | null {
    const conn = this.connection!;
    conn.sendCopyFromChunk(chunk);
    return conn.stream.writableNeedDrain ? new Promise((resolve) => conn.stream.once('drain', () => resolve())) : null;
  }

  end(): void {
    this.connection!.endCopyFrom();
  }

  fail(why: string): void {
    this.connection?.sendCopyFail(why);
  }
}

/** Starts `COPY ... FROM STDIN` on `client`; fails if the statement errors before accepting data. */
async function copyIn(client: Client, sql: string): Promise<CopyIn> {
  const copy = new CopyIn(sql);
  void client.query(copy as never);
  await Promise.race([copy.ready, copy.done.then(() => Promise.reject(new Error(`${sql} did not ask for data`)))]);
  return copy;
}

/**
 * Feeds `COPY ... FROM STDIN` from an async source of text or bytes, with backpressure.
 * Returns the number of rows the server reports.
 */
export async function copyFrom(client: Client, sql: string, source: AsyncIterable<Buffer | string>): Promise<number> {
  const copy = await copyIn(client, sql);
  try {
    for await (const chunk of source) {
      const wait = copy.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      if (wait) await wait;
    }
  } catch (err) {
    copy.fail(String(err));
    await copy.done.catch(() => undefined);
    throw err;
  }
  copy.end();
  return copy.done;
}

// CopyData messages from COPY TO carry one row each; forwarding them one by one would be a
// socket write per row, so they are packed into blocks (COPY FROM reads a byte stream).
const BLOCK = 256 * 1024;

/**
 * `COPY (select) TO STDOUT` on one server piped into `COPY ... FROM STDIN` on another, with
 * TCP backpressure from the target back to the source: the raw ceiling of moving rows.
 */
export async function copyPipe(source: Client, copyOutSql: string, target: Client, copyInSql: string): Promise<number> {
  const sink = await copyIn(target, copyInSql);
  const block = Buffer.allocUnsafe(BLOCK);
  let used = 0;
  let out: CopyOut | undefined;
  let paused = false;
  const flush = () => {
    if (used === 0) return;
    const wait = sink.write(block.subarray(0, used)); // pg copies it into its own message
    used = 0;
    if (wait && !paused && out?.socket) {
      paused = true;
      out.socket.pause();
      void wait.then(() => {
        paused = false;
        out?.socket?.resume();
      });
    }
  };
  out = new CopyOut(copyOutSql, (chunk) => {
    if (used + chunk.length > BLOCK) flush();
    if (chunk.length > BLOCK) {
      void sink.write(chunk);
      return;
    }
    chunk.copy(block, used); // the parser may reuse its buffer once this returns
    used += chunk.length;
  });
  void source.query(out as never);
  try {
    await out.done;
  } catch (err) {
    sink.fail(String(err));
    await sink.done.catch(() => undefined);
    throw err;
  }
  flush();
  sink.end();
  return sink.done;
}
