import { MigrationInterface, QueryRunner } from 'typeorm';

export class InstanceStrain1764201600000 implements MigrationInterface {
  name = 'InstanceStrain1764201600000';

  async up(q: QueryRunner): Promise<void> {
    // What each instance's live traffic feels, with its heartbeat, so a reshard paces by every
    // instance that serves traffic, not only by the one that runs it. Null p99: too few requests.
    await q.query(`ALTER TABLE instances ADD COLUMN live_p99_ms real, ADD COLUMN strained boolean NOT NULL DEFAULT false`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE instances DROP COLUMN live_p99_ms, DROP COLUMN strained`);
  }
}
