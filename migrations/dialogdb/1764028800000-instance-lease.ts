import { MigrationInterface, QueryRunner } from 'typeorm';

export class InstanceLease1764028800000 implements MigrationInterface {
  name = 'InstanceLease1764028800000';

  async up(q: QueryRunner): Promise<void> {
    // Each instance's own lease, so a reshard waits for each by the setting it really runs
    // with. Version 0 means "starting": visible to jobs before it serves any ring.
    await q.query(`ALTER TABLE instances ADD COLUMN lease_ms integer NOT NULL DEFAULT 5000`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE instances DROP COLUMN lease_ms`);
  }
}
