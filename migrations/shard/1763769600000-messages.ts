import { MigrationInterface, QueryRunner } from 'typeorm';

export class Messages1763769600000 implements MigrationInterface {
  name = 'Messages1763769600000';

  async up(q: QueryRunner): Promise<void> {
    // The primary key doubles as the "newest first in one dialog" index: ids are UUIDv7,
    // so id order is time order.
    await q.query(`
      CREATE TABLE messages (
        dialog_id uuid NOT NULL,
        id uuid NOT NULL,
        ring_hash bigint NOT NULL,
        author_id varchar(64) NOT NULL,
        text text NOT NULL,
        client_message_id varchar(64) NULL,
        created_at timestamptz NOT NULL,
        edited_at timestamptz NULL,
        deleted_at timestamptz NULL,
        PRIMARY KEY (dialog_id, id)
      )`);
    // Resharding moves an arc of the ring: an index range scan in (ring_hash, id) order.
    await q.query(`CREATE INDEX messages_ring_hash_id ON messages (ring_hash, id)`);
    await q.query(`
      CREATE UNIQUE INDEX messages_client_message_id ON messages (dialog_id, author_id, client_message_id)
      WHERE client_message_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE messages`);
  }
}
