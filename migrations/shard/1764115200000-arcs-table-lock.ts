import { MigrationInterface, QueryRunner } from 'typeorm';

/** The ownership trigger; `lock` is what it takes before its check (nothing but the check's own lock, now). */
function ownershipTrigger(lock: string): string {
  return `
    CREATE OR REPLACE FUNCTION messages_ownership() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      h bigint;
    BEGIN
      IF current_setting('chat.ownership_bypass', true) = 'on' THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
      END IF;
      ${lock}
      h := CASE WHEN TG_OP = 'DELETE' THEN OLD.ring_hash ELSE NEW.ring_hash END;
      -- shard_serves(h, 'write'), spelled out: a query plpgsql plans once per session is much
      -- cheaper per row than a call of a SQL function, which is not inlined here.
      IF NOT EXISTS (SELECT 1 FROM shard_arcs WHERE h >= from_hash AND h < to_hash AND mode IN ('owner', 'writer')) THEN
        PERFORM shard_refuses(h, 'write');
      END IF;
      RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END $$`;
}

/**
 * A write holds the arcs still with the lock its own check already takes: the check's lookup
 * in `shard_arcs` holds ACCESS SHARE on the table to commit. A change of arcs now locks the
 * table ACCESS EXCLUSIVE, so it waits for every write that passed the old check, and a later
 * write's lookup waits for the change to commit, then runs on a snapshot taken after that
 * wait (plpgsql locks a statement's tables before it takes the statement's snapshot), so it
 * sees the new arcs. Before, every write also took a shared advisory lock: advisory locks go
 * through the lock manager's shared table, where a shard's concurrent writers all met on one
 * partition, while a weak table lock takes each backend's own fast path. Reads hold ACCESS
 * SHARE too, so they wait for a change of arcs (milliseconds) as writes do.
 */
export class ArcsTableLock1764115200000 implements MigrationInterface {
  name = 'ArcsTableLock1764115200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(ownershipTrigger(''));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(ownershipTrigger('PERFORM pg_advisory_xact_lock_shared(7240003);'));
  }
}
