import { MigrationInterface, QueryRunner } from 'typeorm';

export class Resharding1763856000000 implements MigrationInterface {
  name = 'Resharding1763856000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE reshard_jobs (
        id uuid PRIMARY KEY,
        kind text NOT NULL CHECK (kind IN ('split', 'move')),
        source text NOT NULL,
        target text NOT NULL,
        phase text NOT NULL CHECK (phase IN ('prepare', 'copy', 'verify', 'cutover', 'cleanup', 'done', 'failed', 'cancelled')),
        -- the ring before the job, the ring after it, and the arcs that move between them
        base_version integer NOT NULL,
        old_points jsonb NOT NULL,
        new_points jsonb NOT NULL,
        moved jsonb NOT NULL,
        -- ring versions this job published, so a resumed job never publishes twice
        versions jsonb NOT NULL DEFAULT '{}',
        -- where the copier stands: { segment, hash, id } of the last row copied
        checkpoint jsonb NULL,
        copied bigint NOT NULL DEFAULT 0,
        total bigint NULL,
        -- rows per second over the last few batches, for progress and ETA on any instance
        rate double precision NULL,
        verification jsonb NULL,
        phase_times jsonb NOT NULL DEFAULT '{}',
        cancel_requested boolean NOT NULL DEFAULT false,
        error text NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    // One reshard at a time. A failed job still holds the ring in transition, so it counts
    // until it is cancelled.
    await q.query(`
      CREATE UNIQUE INDEX reshard_jobs_one_active ON reshard_jobs ((true))
      WHERE phase NOT IN ('done', 'cancelled')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE reshard_jobs`);
  }
}
