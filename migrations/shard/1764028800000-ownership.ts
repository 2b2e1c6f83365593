import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every shard enforces which arcs of the ring it serves, always, not only during a reshard.
 * The resharding steps change `shard_arcs` with ordinary DML; nothing after this migration
 * takes DDL locks on `messages`.
 */
export class Ownership1764028800000 implements MigrationInterface {
  name = 'Ownership1764028800000';

  async up(q: QueryRunner): Promise<void> {
    // The fence existed only during a job; it is replaced by the permanent ownership check.
    await q.query(`DROP TRIGGER IF EXISTS messages_fence ON messages`);
    await q.query(`DROP FUNCTION IF EXISTS messages_fence()`);
    await q.query(`DROP TABLE IF EXISTS ring_fence`);

    // The order of a message's edits, carried by the row itself: each edit or delete runs on
    // the one shard that accepts writes for the row at that moment, after pulling the other
    // shard's copy, so a higher revision is always the later write. No clock is compared.
    await q.query(`ALTER TABLE messages ADD COLUMN revision integer NOT NULL DEFAULT 0`);

    // The arcs this shard serves, as non-overlapping SQL ranges [from_hash, to_hash):
    //   owner  - accepts writes; serves reads alone or merged with another shard
    //   writer - accepts writes; serves merged reads, and reads alone only below copied_below
    //            (the rows being copied in are all here up to that hash)
    //   reader - refuses writes; serves merged reads only (its rows are moving away, or are an
    //            incomplete copy)
    // A hash in no row is refused for reads and writes alike.
    await q.query(`
      CREATE TABLE shard_arcs (
        from_hash bigint PRIMARY KEY,
        to_hash bigint NOT NULL CHECK (to_hash > from_hash),
        mode text NOT NULL CHECK (mode IN ('owner', 'writer', 'reader')),
        copied_below bigint NULL,
        job_id uuid NULL
      )`);
    // Present once the arcs were set for the first time; the ring version they come from.
    await q.query(`
      CREATE TABLE shard_ownership (
        one boolean PRIMARY KEY DEFAULT true CHECK (one),
        ring_version integer NOT NULL,
        reason text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);

    // Whether the shard serves this hash for this access: 'write', 'read' (merged with another
    // shard) or 'read-alone'. Plain SQL, so the planner inlines it into the statement that
    // calls it (one small scan of shard_arcs, once per statement) in that statement's snapshot:
    // a page that passes the check reads rows that cleanup had not deleted.
    await q.query(`
      CREATE FUNCTION shard_serves(h bigint, access text) RETURNS boolean LANGUAGE sql STABLE AS $$
        SELECT EXISTS (
          SELECT 1 FROM shard_arcs
          WHERE h >= from_hash AND h < to_hash
            AND CASE access
                  WHEN 'write' THEN mode IN ('owner', 'writer')
                  WHEN 'read' THEN true
                  WHEN 'read-alone' THEN mode = 'owner' OR (mode = 'writer' AND h < copied_below)
                END)
      $$`);
    // Called only when shard_serves said no (statements check "shard_serves(...) OR
    // shard_refuses(...)"): SQLSTATE SF001 tells the service to reload the ring and retry.
    await q.query(`
      CREATE FUNCTION shard_refuses(h bigint, access text) RETURNS boolean LANGUAGE plpgsql STABLE AS $$
      BEGIN
        RAISE EXCEPTION 'shard does not serve % of ring hash %', access, h USING ERRCODE = 'SF001', DETAIL = access;
      END $$`);

    // Every insert, update and delete of a message is checked, whoever sends it. The shared
    // advisory lock is held to commit: a step changing shard_arcs takes it exclusively, so it
    // waits for writes that passed the old check, and writes after it see the new arcs (a
    // volatile function takes a fresh snapshot per statement). Resharding's own deletes of
    // rows that moved away set chat.ownership_bypass for their transaction.
    await q.query(`
      CREATE FUNCTION messages_ownership() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        h bigint;
      BEGIN
        IF current_setting('chat.ownership_bypass', true) = 'on' THEN
          RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
        END IF;
        PERFORM pg_advisory_xact_lock_shared(7240003);
        h := CASE WHEN TG_OP = 'DELETE' THEN OLD.ring_hash ELSE NEW.ring_hash END;
        -- shard_serves(h, 'write'), spelled out: a query plpgsql plans once per session is much
        -- cheaper per row than a call of a SQL function, which is not inlined here.
        IF NOT EXISTS (SELECT 1 FROM shard_arcs WHERE h >= from_hash AND h < to_hash AND mode IN ('owner', 'writer')) THEN
          PERFORM shard_refuses(h, 'write');
        END IF;
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
      END $$`);
    await q.query(`
      CREATE TRIGGER messages_ownership BEFORE INSERT OR UPDATE OR DELETE ON messages
      FOR EACH ROW EXECUTE FUNCTION messages_ownership()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER messages_ownership ON messages`);
    await q.query(`DROP FUNCTION messages_ownership()`);
    await q.query(`DROP FUNCTION shard_refuses(bigint, text)`);
    await q.query(`DROP FUNCTION shard_serves(bigint, text)`);
    await q.query(`DROP TABLE shard_ownership, shard_arcs`);
    await q.query(`ALTER TABLE messages DROP COLUMN revision`);
  }
}
