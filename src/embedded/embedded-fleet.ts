import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { AppConfig } from '../config/app-config';
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

const SHARD_DIR = /^shard-(\d+)$/;

/**
 * The embedded default: one real Postgres server per database (dialogdb and each shard),
 * all under DATA_DIR/pg, so a shard can be stopped on its own exactly as in production.
 */
export class EmbeddedFleet {
  private constructor(
    private readonly config: AppConfig,
    private readonly secrets: Secrets,
    readonly dialogDb: EmbeddedServer,
    readonly shards: Map<string, EmbeddedServer>,
    private readonly log: (line: string) => void,
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
    // Shards added later (by resharding) live beside the first ones and come back on restart.
    for (const entry of await fs.readdir(pgRoot)) if (SHARD_DIR.test(entry)) names.add(entry);

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
        [...names].sort(byShardNumber).map((name) => start(name, 'messagedb', config.embeddedPort + 1 + Number(SHARD_DIR.exec(name)![1]))),
      );
      const shards: EmbeddedServer[] = [];
      for (const r of results) if (r.status === 'fulfilled') shards.push(r.value);
      started.push(...shards);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      return new EmbeddedFleet(config, secrets, dialogDb, new Map(shards.map((s) => [s.name, s])), log);
    } catch (err) {
      await Promise.allSettled(started.map((s) => s.stop()));
      throw err;
    }
  }

  async stop(): Promise<void> {
    const servers = [...this.shards.values(), this.dialogDb];
    this.log(`stopping ${servers.length} embedded postgres servers`);
    await Promise.allSettled(servers.map((s) => s.stop()));
  }
}

function byShardNumber(a: string, b: string): number {
  return Number(SHARD_DIR.exec(a)![1]) - Number(SHARD_DIR.exec(b)![1]);
}
