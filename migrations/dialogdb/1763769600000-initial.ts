import { MigrationInterface, QueryRunner } from 'typeorm';

export class Initial1763769600000 implements MigrationInterface {
  name = 'Initial1763769600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE dialogs (
        id uuid PRIMARY KEY,
        kind text NOT NULL CHECK (kind IN ('group', 'direct')),
        title text NULL,
        -- one-to-one dialogs of the OTUS API are found by their pair of users
        direct_key text NULL UNIQUE,
        created_by varchar(64) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_activity_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE dialog_participants (
        dialog_id uuid NOT NULL REFERENCES dialogs (id) ON DELETE CASCADE,
        user_id varchar(64) NOT NULL,
        PRIMARY KEY (dialog_id, user_id)
      )`);
    await q.query(`CREATE INDEX dialog_participants_user ON dialog_participants (user_id, dialog_id)`);
    await q.query(`
      CREATE TABLE shards (
        name text PRIMARY KEY,
        url text NOT NULL,
        status text NOT NULL CHECK (status IN ('active', 'pending', 'retired')),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE ring_versions (
        version integer PRIMARY KEY,
        points jsonb NOT NULL,
        -- set while a reshard is under way: which arcs move and how reads and writes treat them
        transition jsonb NULL,
        reason text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE instances (
        id text PRIMARY KEY,
        ring_version integer NOT NULL,
        started_at timestamptz NOT NULL DEFAULT now(),
        heartbeat_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE instances, ring_versions, shards, dialog_participants, dialogs`);
  }
}
