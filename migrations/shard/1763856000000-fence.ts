import { MigrationInterface, QueryRunner } from 'typeorm';

export class Fence1763856000000 implements MigrationInterface {
  name = 'Fence1763856000000';

  async up(q: QueryRunner): Promise<void> {
    // Arcs of the ring this shard no longer accepts writes for, during a reshard.
    await q.query(`
      CREATE TABLE ring_fence (
        job_id uuid NOT NULL,
        from_hash bigint NOT NULL,
        to_hash bigint NOT NULL,
        target text NOT NULL,
        PRIMARY KEY (job_id, from_hash)
      )`);
    // The trigger itself is created only while a fence is up, so the hot path pays nothing
    // between reshards. SQLSTATE SF001 tells a writer to reload the ring and go to the target;
    // the copier's own clean-up sets chat.fence_bypass to pass.
    await q.query(`
      CREATE FUNCTION messages_fence() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        h bigint;
        t text;
      BEGIN
        IF current_setting('chat.fence_bypass', true) = 'on' THEN
          RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
        END IF;
        h := CASE WHEN TG_OP = 'DELETE' THEN OLD.ring_hash ELSE NEW.ring_hash END;
        SELECT target INTO t FROM ring_fence WHERE h >= from_hash AND h < to_hash LIMIT 1;
        IF FOUND THEN
          RAISE EXCEPTION 'ring fence: hash % moved to shard %', h, t USING ERRCODE = 'SF001', DETAIL = t;
        END IF;
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER IF EXISTS messages_fence ON messages`);
    await q.query(`DROP FUNCTION messages_fence()`);
    await q.query(`DROP TABLE ring_fence`);
  }
}
