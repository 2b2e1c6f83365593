import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { dialogDbMigrations } from '../../migrations/dialogdb';
import { shardMigrations } from '../../migrations/shard';

export type MigrationSet = 'dialogdb' | 'shard';

// Any constant will do; it only has to be the same for every instance.
const MIGRATION_LOCK = 7_240_001;

/**
 * Applies one migration set with a short-lived TypeORM DataSource. An advisory lock makes
 * instances that start together take turns instead of racing on CREATE TABLE.
 */
export async function runMigrations(url: string, set: MigrationSet): Promise<string[]> {
  const lock = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    return await migrate(url, set);
  } finally {
    await lock.end();
  }
}

async function migrate(url: string, set: MigrationSet): Promise<string[]> {
  const ds = new DataSource({
    type: 'postgres',
    url,
    migrations: set === 'dialogdb' ? dialogDbMigrations : shardMigrations,
    migrationsTableName: 'schema_migrations',
    synchronize: false,
    logging: false,
    extra: { max: 1, connectionTimeoutMillis: 5000 },
  });
  await ds.initialize();
  try {
    const applied = await ds.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await ds.destroy();
  }
}
