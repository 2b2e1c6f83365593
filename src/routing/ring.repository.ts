import { Injectable } from '@nestjs/common';
import { PoolClient } from 'pg';
import { DialogDb } from '../database/dialog-db';
import { RingPoint } from '../ring';
import { COPY_COMPLETE, CopyProgress, Transition } from './router';

export interface RingVersionRow {
  version: number;
  points: RingPoint[];
  transition: Transition | null;
  reason: string;
  created_at: Date;
}

export interface ShardRow {
  name: string;
  url: string;
  status: 'active' | 'pending' | 'retired';
}

export interface InstanceRow {
  id: string;
  ring_version: number;
  heartbeat_at: Date;
}

export const RING_CHANNEL = 'ring_changed';

/** The versioned ring, the shard registry and the instances' heartbeats, as stored in dialogdb. */
@Injectable()
export class RingRepository {
  constructor(private readonly db: DialogDb) {}

  async latest(): Promise<RingVersionRow | null> {
    const rows = await this.db.query<RingVersionRow>(
      'SELECT version, points, transition, reason, created_at FROM ring_versions ORDER BY version DESC LIMIT 1',
    );
    return rows[0] ?? null;
  }

  /**
   * How far a job's copy has gone, for reads that need only the target once the copier is
   * past their dialog: its checkpoint while copying, everything from verify to done.
   */
  async copyProgress(jobId: string): Promise<CopyProgress | null> {
    const [row] = await this.db.query<{ phase: string; checkpoint: { segment: number; hash: string } | null }>(
      'SELECT phase, checkpoint FROM reshard_jobs WHERE id = $1',
      [jobId],
    );
    if (!row) return null;
    if (['verify', 'cutover', 'cleanup', 'done'].includes(row.phase)) return COPY_COMPLETE;
    if (row.phase === 'copy' && row.checkpoint) return { segment: row.checkpoint.segment, hash: Number(row.checkpoint.hash) };
    return null;
  }

  /** Version 1 is written once; a second instance starting at the same time keeps the first one's. */
  async createInitial(points: RingPoint[]): Promise<void> {
    await this.db.query(
      `INSERT INTO ring_versions (version, points, reason) VALUES (1, $1, 'initial ring') ON CONFLICT (version) DO NOTHING`,
      [JSON.stringify(points)],
    );
  }

  /**
   * Writes the next ring version and tells every instance at once (NOTIFY is delivered at
   * commit). Runs inside the caller's transaction so the job row can record the version too.
   */
  async publish(tx: PoolClient, points: RingPoint[], transition: Transition | null, reason: string): Promise<number> {
    await tx.query('LOCK TABLE ring_versions IN EXCLUSIVE MODE');
    const { rows } = await tx.query<{ version: number }>(
      `INSERT INTO ring_versions (version, points, transition, reason)
       SELECT coalesce(max(version), 0) + 1, $1, $2, $3 FROM ring_versions RETURNING version`,
      [JSON.stringify(points), transition ? JSON.stringify(transition) : null, reason],
    );
    await tx.query(`SELECT pg_notify($1, $2)`, [RING_CHANNEL, String(rows[0].version)]);
    return rows[0].version;
  }

  async shards(): Promise<ShardRow[]> {
    return this.db.query<ShardRow>(`SELECT name, url, status FROM shards WHERE status <> 'retired' ORDER BY name`);
  }

  async shard(name: string): Promise<ShardRow | null> {
    const rows = await this.db.query<ShardRow>(`SELECT name, url, status FROM shards WHERE name = $1`, [name]);
    return rows[0] ?? null;
  }

  async allShardNames(): Promise<string[]> {
    return (await this.db.query<{ name: string }>('SELECT name FROM shards')).map((r) => r.name);
  }

  /** Operators may move a database to another server: the configured URL wins over the stored one. */
  async upsertShard(name: string, url: string, status: ShardRow['status']): Promise<void> {
    await this.db.query(
      `INSERT INTO shards (name, url, status) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO UPDATE SET url = EXCLUDED.url, updated_at = now() WHERE shards.url <> EXCLUDED.url`,
      [name, url, status],
    );
  }

  async setShardStatus(name: string, status: ShardRow['status']): Promise<void> {
    await this.db.query('UPDATE shards SET status = $2, updated_at = now() WHERE name = $1', [name, status]);
  }

  async heartbeat(instanceId: string, version: number): Promise<void> {
    await this.db.query(
      `INSERT INTO instances (id, ring_version) VALUES ($1, $2)
       ON CONFLICT (id) DO UPDATE SET ring_version = EXCLUDED.ring_version, heartbeat_at = now()`,
      [instanceId, version],
    );
  }

  async forgetInstance(instanceId: string): Promise<void> {
    await this.db.query('DELETE FROM instances WHERE id = $1', [instanceId]);
  }

  /** Instances that heartbeat within `aliveMs` and still serve a version older than `version`. */
  async lagging(version: number, aliveMs: number): Promise<InstanceRow[]> {
    return this.db.query<InstanceRow>(
      `SELECT id, ring_version, heartbeat_at FROM instances
       WHERE heartbeat_at > now() - make_interval(secs => $2::double precision / 1000) AND ring_version < $1`,
      [version, aliveMs],
    );
  }

  async liveInstances(aliveMs: number): Promise<InstanceRow[]> {
    return this.db.query<InstanceRow>(
      `SELECT id, ring_version, heartbeat_at FROM instances
       WHERE heartbeat_at > now() - make_interval(secs => $1::double precision / 1000) ORDER BY id`,
      [aliveMs],
    );
  }
}
