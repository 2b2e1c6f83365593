import { Injectable } from '@nestjs/common';
import { DialogDb } from '../database/dialog-db';
import { ShardRegistry } from '../shards/shard-registry';

/** The probes' one statement: does a database answer at all. */
@Injectable()
export class HealthRepository {
  constructor(
    private readonly dialogDb: DialogDb,
    private readonly registry: ShardRegistry,
  ) {}

  async pingDialogDb(): Promise<void> {
    await this.dialogDb.query('SELECT 1');
  }

  async pingShard(name: string): Promise<void> {
    await this.registry.query(name, 'SELECT 1', []);
  }
}
