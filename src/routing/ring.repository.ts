import { Injectable } from '@nestjs/common';
import { DialogDb } from '../database/dialog-db';
import { RingPoint } from '../ring';

export interface RingVersionRow {
  version: number;
  points: RingPoint[];
  transition: unknown;
  reason: string;
  created_at: Date;
}

export interface ShardRow {
  name: string;
  url: string;
  status: 'active' | 'pending' | 'retired';
}

/** The versioned ring and the shard registry as stored in dialogdb. */
@Injectable()
export class RingRepository {
  constructor(private readonly db: DialogDb) {}

  async latest(): Promise<RingVersionRow | null> {
    const rows = await this.db.query<RingVersionRow>(
      'SELECT version, points, transition, reason, created_at FROM ring_versions ORDER BY version DESC LIMIT 1',
    );
    return rows[0] ?? null;
  }

  /** Version 1 is written once; a second instance starting at the same time keeps the first one's. */
  async createInitial(points: RingPoint[]): Promise<void> {
    await this.db.query(
      `INSERT INTO ring_versions (version, points, reason) VALUES (1, $1, 'initial ring') ON CONFLICT (version) DO NOTHING`,
      [JSON.stringify(points)],
    );
  }

  async shards(): Promise<ShardRow[]> {
    return this.db.query<ShardRow>(`SELECT name, url, status FROM shards WHERE status <> 'retired' ORDER BY name`);
  }

  /** Operators may move a database to another server: the configured URL wins over the stored one. */
  async upsertShard(name: string, url: string, status: ShardRow['status']): Promise<void> {
    await this.db.query(
      `INSERT INTO shards (name, url, status) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO UPDATE SET url = EXCLUDED.url, updated_at = now() WHERE shards.url <> EXCLUDED.url`,
      [name, url, status],
    );
  }
}
