import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { AppConfig } from '../config/app-config';
import { ShardProvisioner } from '../reshard/provisioner';
import { EmbeddedServer } from './embedded-postgres';

interface Secrets {
  jwtSecret: string;
  postgresPassword: string;
}

/** Secrets are made once per data directory so that a restart keeps tokens and passwords valid. */
async function loadOrCreateSecrets(dataDir: string): Promise<Secrets> {
  const file = path.join(dataDir, 'secrets.json');
  const existing = await fs.readFile(file, 'utf8').catch(() => null);
  if (existing) return JSON.parse(existing) as Secrets;
  const secrets: Secrets = {
    jwtSecret: randomBytes(32).toString('base64url'),
    postgresPassword: randomBytes(18).toString('base64url'),
  };
  await fs.mkdir(dataDir, { recursive: true });
  await fs.writeFile(file, JSON.stringify(secrets, null, 2) + '\n', { mode: 0o600 });
  return secrets;
}

export async function readEmbeddedJwtSecret(dataDir: string): Promise<string> {
  return (await loadOrCreateSecrets(dataDir)).jwtSecret;
}

const SHARD_NUMBER = /^shard-(\d+)$/;
const RETIRED = /^retired-/;

/**
 * The embedded default: one real Postgres server per database (dialogdb and each shard),
 * all under DATA_DIR/pg, so a shard can be stopped on its own exactly as in production.
 * It also makes the databases of new shards when a reshard asks for one.
 */
export class EmbeddedFleet implements ShardProvisioner {
  private constructor(
    private readonly config: AppConfig,
    private readonly secrets: Secrets,
    readonly dialogDb: EmbeddedServer,
    readonly shards: Map<string, EmbeddedServer>,
    private readonly log: (line: string) => void,
    private readonly pgRoot: string,
  ) {}

  get jwtSecret(): string {
    return this.config.jwtSecret ?? this.secrets.jwtSecret;
  }

  get shardUrls(): Map<string, string> {
    return new Map([...this.shards].map(([name, server]) => [name, server.url]));
  }

  static async start(config: AppConfig, log: (line: string) => void): Promise<EmbeddedFleet> {
    const secrets = await loadOrCreateSecrets(config.dataDir);
    const pgRoot = path.join(config.dataDir, 'pg');
    await fs.mkdir(pgRoot, { recursive: true });
    const names = new Set<string>();
    for (let i = 0; i < config.embeddedShards; i++) names.add(`shard-${i}`);
    // Shards added later (by resharding) live beside the first ones and come back on restart;
    // retired ones were set aside under another name.
    for (const entry of await fs.readdir(pgRoot, { withFileTypes: true })) {
      if (entry.isDirectory() && entry.name !== 'dialogdb' && !RETIRED.test(entry.name)) names.add(entry.name);
    }

    const start = (name: string, database: string, preferredPort: number) =>
      EmbeddedServer.start({
        name,
        dataDir: path.join(pgRoot, name),
        preferredPort,
        password: secrets.postgresPassword,
        database,
        log,
      });
    const started: EmbeddedServer[] = [];
    try {
      // dialogdb alone first: its initialise() creates the postgres OS user when it is missing,
      // which parallel first starts would race on.
      const dialogDb = await start('dialogdb', 'dialogdb', config.embeddedPort);
      started.push(dialogDb);
      const results = await Promise.allSettled(
        [...names].sort().map((name) => start(name, 'messagedb', preferredPort(config, name))),
      );
      const shards: EmbeddedServer[] = [];
      for (const r of results) if (r.status === 'fulfilled') shards.push(r.value);
      started.push(...shards);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      return new EmbeddedFleet(config, secrets, dialogDb, new Map(shards.map((s) => [s.name, s])), log, pgRoot);
    } catch (err) {
      await Promise.allSettled(started.map((s) => s.stop()));
      throw err;
    }
  }

  async provision(name: string): Promise<string> {
    const server = await EmbeddedServer.start({
      name,
      dataDir: path.join(this.pgRoot, name),
      preferredPort: preferredPort(this.config, name),
      password: this.secrets.postgresPassword,
      database: 'messagedb',
      log: this.log,
    });
    this.shards.set(name, server);
    return server.url;
  }

  /** Stops the server and renames its directory, so it is kept but never started again. */
  async retire(name: string): Promise<void> {
    const server = this.shards.get(name);
    if (!server) return;
    await server.stop();
    this.shards.delete(name);
    const aside = path.join(this.pgRoot, `retired-${name}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    const dataDir = path.join(this.pgRoot, name);
    await fs.rename(dataDir, aside);
    await fs.rename(EmbeddedServer.logFileOf(dataDir), EmbeddedServer.logFileOf(aside)).catch(() => undefined);
    this.log(`${name}: server stopped, data kept in ${aside}`);
  }

  async stop(): Promise<void> {
    const servers = [...this.shards.values(), this.dialogDb];
    this.log(`stopping ${servers.length} embedded postgres servers`);
    await Promise.allSettled(servers.map((s) => s.stop()));
  }
}

/** shard-N listens next to dialogdb on EMBEDDED_PG_PORT + 1 + N; other names take any free port. */
function preferredPort(config: AppConfig, name: string): number {
  const n = SHARD_NUMBER.exec(name);
  return n ? config.embeddedPort + 1 + Number(n[1]) : 0;
}
