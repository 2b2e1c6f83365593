import { MigrationInterface, QueryRunner } from 'typeorm';

export class InstanceWriteRates1764460800000 implements MigrationInterface {
  name = 'InstanceWriteRates1764460800000';

  async up(q: QueryRunner): Promise<void> {
    // Each instance's live writes per second by shard ({ "shard-0": 12.5 }), with its
    // heartbeat: a shard's write rate is the sum over live instances, and counts no
    // reshard's copying (see LiveWrites).
    await q.query(`ALTER TABLE instances ADD COLUMN write_rates jsonb NOT NULL DEFAULT '{}'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE instances DROP COLUMN write_rates`);
  }
}
