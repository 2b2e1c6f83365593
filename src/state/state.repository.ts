import { Injectable } from '@nestjs/common';
import { DialogDb } from '../database/dialog-db';
import { ShardRegistry } from '../shards/shard-registry';

const LAST_MIGRATION = 'SELECT name FROM schema_migrations ORDER BY "timestamp" DESC, id DESC LIMIT 1';

/** What the state page reads straight from the databases, beside what other rooms' repositories give it. */
@Injectable()
export class StateRepository {
  constructor(
    private readonly dialogDb: DialogDb,
    private readonly registry: ShardRegistry,
  ) {}

  /** The last migration applied on dialogdb (its `schema_migrations`), null before any. */
  async dialogdbMigration(): Promise<string | null> {
    const [row] = await this.dialogDb.query<{ name: string }>(LAST_MIGRATION);
    return row?.name ?? null;
  }

  /** The last migration applied on a shard, null before any. */
  async shardMigration(shard: string): Promise<string | null> {
    const [row] = await this.registry.query<{ name: string }>(shard, LAST_MIGRATION, []);
    return row?.name ?? null;
  }

  /** dialogdb's clock, which the instances' heartbeats are stamped with. */
  async dialogdbNow(): Promise<Date> {
    const [{ now }] = await this.dialogDb.query<{ now: Date }>('SELECT now() AS now');
    return now;
  }
}
