import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { initCluster, PortTakenError, PostgresProcess } from '../src/embedded/postgres-launcher';
import { freePort, isAlive } from '../src/embedded/processes';

const PREFIX = 'chat-bench-';
const PASSWORD = 'bench';
const OWNER_FILE = 'bench.pid';

/**
 * One Postgres server of the bench, from the launcher the embedded default uses, with
 * Postgres' defaults (fsync, synchronous_commit, shared_buffers, max_connections and the
 * rest) for the ceilings and the API alike.
 */
export class BenchServer {
  constructor(
    readonly name: string,
    readonly dataDir: string,
    private readonly server: PostgresProcess,
  ) {}

  get port(): number {
    return this.server.port;
  }

  url(database: string): string {
    return `postgres://postgres:${PASSWORD}@127.0.0.1:${this.port}/${database}`;
  }

  get pid(): number | undefined {
    return this.server.running ? this.server.pid : undefined;
  }

  /** A fast shutdown: the bench has nothing left to wait for. */
  async stop(): Promise<void> {
    await this.server.stop({ smartMs: 0, timeoutMs: 20_000 });
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
      const started = await Promise.allSettled(names.map((name) => startServer(root, name)));
      for (const r of started) if (r.status === 'fulfilled') fleet.servers.push(r.value);
      const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
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

async function startServer(root: string, name: string): Promise<BenchServer> {
  const dataDir = path.join(root, name);
  await initCluster({ dataDir, password: PASSWORD });
  for (let attempt = 1; ; attempt++) {
    let server: PostgresProcess;
    try {
      server = await PostgresProcess.start({ name, dataDir, port: await freePort(), logFile: `${dataDir}.log` });
    } catch (err) {
      // The port was taken between freePort() and bind(): another one.
      if (err instanceof PortTakenError && attempt < 5) continue;
      throw err;
    }
    const bench = new BenchServer(name, dataDir, server);
    const client = new Client({ connectionString: bench.url('postgres') });
    client.on('error', () => undefined);
    await client.connect();
    const database = name === 'dialogdb' ? 'dialogdb' : 'messagedb';
    await client.query(`CREATE DATABASE ${database}`).finally(() => client.end());
    return bench;
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
