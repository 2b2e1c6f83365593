import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Read marks live on the dialog's shard beside its messages, so they scale with them and move
 * with them through a reshard: each row carries its dialog's ring hash, the resharding walks
 * scan an arc of them in (ring_hash, dialog_id, user_id) order, and the shard's ownership
 * trigger checks their writes as it checks messages'.
 */
export class ReadMarks1764374400000 implements MigrationInterface {
  name = 'ReadMarks1764374400000';

  async up(q: QueryRunner): Promise<void> {
    // user_id sorts bytewise ("C"): the copier and verification walk keys in the same order
    // on every server, whatever collation each database was created with.
    await q.query(`
      CREATE TABLE read_marks (
        dialog_id uuid NOT NULL,
        user_id varchar(64) COLLATE "C" NOT NULL,
        ring_hash bigint NOT NULL,
        message_id uuid NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (dialog_id, user_id)
      )`);
    await q.query(`CREATE INDEX read_marks_ring_hash ON read_marks (ring_hash, dialog_id, user_id)`);
    // The check reads only NEW/OLD.ring_hash, so messages' trigger function serves this table too.
    await q.query(`
      CREATE TRIGGER read_marks_ownership BEFORE INSERT OR UPDATE OR DELETE ON read_marks
      FOR EACH ROW EXECUTE FUNCTION messages_ownership()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE read_marks`);
  }
}
