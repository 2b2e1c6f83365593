import { Injectable } from '@nestjs/common';
import { DialogDb } from '../database/dialog-db';

export interface DialogRow {
  id: string;
  kind: 'group' | 'direct';
  title: string | null;
  created_by: string;
  created_at: Date;
  last_activity_at: Date;
  participant_ids: string[];
  /** The exact stored timestamp as text, so cursors keep Postgres' microseconds. */
  activity_key: string;
}

const DIALOG_COLUMNS = `d.id, d.kind, d.title, d.created_by, d.created_at, d.last_activity_at,
  d.last_activity_at::text AS activity_key,
  ARRAY(SELECT x.user_id FROM dialog_participants x WHERE x.dialog_id = d.id ORDER BY x.user_id) AS participant_ids`;

@Injectable()
export class DialogsRepository {
  constructor(private readonly db: DialogDb) {}

  async create(dialog: { id: string; kind: 'group' | 'direct'; title: string | null; createdBy: string; participantIds: string[]; directKey?: string }): Promise<string> {
    return this.db.transaction(async (tx) => {
      const inserted = await tx.query<{ id: string }>(
        `INSERT INTO dialogs (id, kind, title, created_by, direct_key) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (direct_key) DO NOTHING RETURNING id`,
        [dialog.id, dialog.kind, dialog.title, dialog.createdBy, dialog.directKey ?? null],
      );
      if (!inserted.rowCount) {
        // Someone created the same one-to-one dialog first; theirs is the dialog.
        const existing = await tx.query<{ id: string }>('SELECT id FROM dialogs WHERE direct_key = $1', [dialog.directKey]);
        return existing.rows[0].id;
      }
      await tx.query(
        `INSERT INTO dialog_participants (dialog_id, user_id) SELECT $1, unnest($2::varchar[])`,
        [dialog.id, dialog.participantIds],
      );
      return dialog.id;
    });
  }

  async findById(id: string): Promise<DialogRow | null> {
    const rows = await this.db.query<DialogRow>(`SELECT ${DIALOG_COLUMNS} FROM dialogs d WHERE d.id = $1`, [id]);
    return rows[0] ?? null;
  }

  async findDirect(directKey: string): Promise<string | null> {
    const rows = await this.db.query<{ id: string }>('SELECT id FROM dialogs WHERE direct_key = $1', [directKey]);
    return rows[0]?.id ?? null;
  }

  async participants(dialogId: string): Promise<string[]> {
    const rows = await this.db.query<{ user_id: string }>(
      'SELECT user_id FROM dialog_participants WHERE dialog_id = $1',
      [dialogId],
    );
    return rows.map((r) => r.user_id);
  }

  /** The user's dialogs, most recent activity first, after an optional (activity, id) key. */
  async listForUser(userId: string, limit: number, after?: { activity: string; id: string }): Promise<DialogRow[]> {
    const values: unknown[] = [userId, limit];
    let keyset = '';
    if (after) {
      values.push(after.activity, after.id);
      keyset = 'AND (d.last_activity_at, d.id) < ($3::timestamptz, $4::uuid)';
    }
    return this.db.query<DialogRow>(
      `SELECT ${DIALOG_COLUMNS}
       FROM dialog_participants p JOIN dialogs d ON d.id = p.dialog_id
       WHERE p.user_id = $1 ${keyset}
       ORDER BY d.last_activity_at DESC, d.id DESC
       LIMIT $2`,
      values,
    );
  }

  /** One statement for a whole batch of activity; never moves a dialog's activity backwards. */
  async touch(ids: string[], at: Date[]): Promise<void> {
    await this.db.query(
      `UPDATE dialogs d SET last_activity_at = GREATEST(d.last_activity_at, v.at)
       FROM unnest($1::uuid[], $2::timestamptz[]) AS v(id, at) WHERE d.id = v.id`,
      [ids, at],
    );
  }
}
