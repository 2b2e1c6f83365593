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
  lease_ms: number;
}

/** What an instance's live streams amount to, as its heartbeat reports them. */
export interface InstanceStreams {
  open: number;
  sent: number;
}

/** An instance's live p99 (null with too few requests) and whether it is over its reshard target. */
export interface InstanceStrain {
  p99: number | null;
  strained: boolean;
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
   * Writes version `expected + 1` and tells every instance at once (NOTIFY is delivered at
   * commit); throws when the newest version is not `expected` (compare-and-set). Runs inside
   * the caller's transaction so the job row can record the version too.
   */
  async publish(tx: PoolClient, expected: number, points: RingPoint[], transition: Transition | null, reason: string): Promise<number> {
    await tx.query('LOCK TABLE ring_versions IN EXCLUSIVE MODE');
    const { rows } = await tx.query<{ version: number }>(
      `INSERT INTO ring_versions (version, points, transition, reason)
       SELECT $1::int + 1, $2, $3, $4 WHERE (SELECT max(version) FROM ring_versions) = $1 RETURNING version`,
      [expected, JSON.stringify(points), transition ? JSON.stringify(transition) : null, reason],
    );
    if (rows.length === 0) {
      const [latest] = await tx.query<{ v: number }>('SELECT max(version) AS v FROM ring_versions').then((r) => r.rows);
      throw new Error(`ring v${latest.v} is in force, not v${expected} as this reshard expected; it publishes nothing over a ring it did not expect`);
    }
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

  /**
   * Registers a shard unless it is known. A known shard keeps its stored URL: another
   * instance's own setting for it (a local PgBouncer, another network path) stays local to
   * that instance (ShardRegistry.urlOf) instead of redirecting every instance.
   */
  /** True when the shard was new. */
  async registerShard(name: string, url: string, status: ShardRow['status']): Promise<boolean> {
    const rows = await this.db.query(`INSERT INTO shards (name, url, status) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING RETURNING name`, [name, url, status]);
    return rows.length > 0;
  }

  /** Only a spare goes: the status check makes a shard that just joined a job stay. */
  async removeSpare(name: string): Promise<void> {
    await this.db.query(`DELETE FROM shards WHERE name = $1 AND status = 'pending'`, [name]);
  }

  async setShardStatus(name: string, status: ShardRow['status']): Promise<void> {
    await this.db.query('UPDATE shards SET status = $2, updated_at = now() WHERE name = $1', [name, status]);
  }

  /** Version 0: the instance is starting and serves nothing yet, but jobs already wait for it. */
  async heartbeat(
    instanceId: string,
    version: number,
    leaseMs: number,
    live: InstanceStrain = { p99: null, strained: false },
    streams: InstanceStreams = { open: 0, sent: 0 },
    writeRates: Record<string, number> = {},
  ): Promise<void> {
    await this.db.query(
      `INSERT INTO instances (id, ring_version, lease_ms, live_p99_ms, strained, live_streams, events_sent, write_rates)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (id) DO UPDATE SET ring_version = EXCLUDED.ring_version, lease_ms = EXCLUDED.lease_ms,
         live_p99_ms = EXCLUDED.live_p99_ms, strained = EXCLUDED.strained,
         live_streams = EXCLUDED.live_streams, events_sent = EXCLUDED.events_sent, write_rates = EXCLUDED.write_rates,
         heartbeat_at = now()`,
      [instanceId, version, leaseMs, live.p99, live.strained, streams.open, streams.sent, JSON.stringify(writeRates)],
    );
  }

  /**
   * Live writes per second by shard: the sum of what the instances alive by their own lease
   * reported with their latest heartbeat (see LiveWrites).
   */
  async liveWriteRates(): Promise<Map<string, number>> {
    const rows = await this.db.query<{ shard: string; rate: number }>(
      `SELECT r.key AS shard, sum(r.value::double precision) AS rate
       FROM instances i, jsonb_each_text(i.write_rates) AS r
       WHERE i.heartbeat_at > now() - make_interval(secs => 2 * i.lease_ms / 1000.0)
       GROUP BY r.key`,
    );
    return new Map(rows.map((r) => [r.shard, Math.round(Number(r.rate) * 10) / 10]));
  }

  /** What live instances other than `self` reported with their latest heartbeat. */
  async othersStrain(self: string): Promise<Array<InstanceStrain & { id: string }>> {
    const rows = await this.db.query<{ id: string; live_p99_ms: number | null; strained: boolean }>(
      `SELECT id, live_p99_ms, strained FROM instances
       WHERE id <> $1 AND heartbeat_at > now() - make_interval(secs => 2 * lease_ms / 1000.0)`,
      [self],
    );
    return rows.map((r) => ({ id: r.id, p99: r.live_p99_ms, strained: r.strained }));
  }

  async forgetInstance(instanceId: string): Promise<void> {
    await this.db.query('DELETE FROM instances WHERE id = $1', [instanceId]);
  }

  /**
   * Instances that still serve a version older than `version` and heartbeat within twice
   * their own lease (past it, an instance has stopped serving by its own rule).
   */
  async lagging(version: number): Promise<InstanceRow[]> {
    return this.db.query<InstanceRow>(
      `SELECT id, ring_version, heartbeat_at, lease_ms FROM instances
       WHERE heartbeat_at > now() - make_interval(secs => 2 * lease_ms / 1000.0) AND ring_version < $1`,
      [version],
    );
  }

  async liveInstances(aliveMs: number): Promise<Array<InstanceRow & { live_streams: number; events_sent: string }>> {
    return this.db.query(
      `SELECT id, ring_version, heartbeat_at, lease_ms, live_streams, events_sent FROM instances
       WHERE heartbeat_at > now() - make_interval(secs => $1::double precision / 1000) ORDER BY id`,
      [aliveMs],
    );
  }
}
