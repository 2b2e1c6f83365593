import { Injectable } from '@nestjs/common';
import { PoolClient } from 'pg';
import { DialogDb } from '../database/dialog-db';
import { MovedArc, RingPoint } from '../ring';
import { CANCELLABLE_PHASES, canMove, Phase, RUNNING_PHASES, TERMINAL_PHASES } from './workflow';


export interface Checkpoint {
  /** Index into the job's copy plan (moved arcs cut into SQL-range segments). */
  segment: number;
  /** The last (ring_hash, id) copied in that segment. */
  hash: string;
  id: string;
}

export interface Verification {
  passed: boolean;
  checked: number;
  missing: string[];
  changed: string[];
  extra: string[];
  /** Read marks the target lacks or holds at an older message, as `dialogId/userId` (absent in jobs from before read marks). */
  marks?: string[];
  /** Of `checked`, the read marks (the rest are messages); absent in jobs verified before marks were counted apart. */
  marksChecked?: number;
  /** Of `differences`, the read marks': `marks` names only the first hundred. Absent as marksChecked is. */
  marksDifferences?: number;
  /** How many differences there were in all; the id lists stop at a hundred each. */
  differences: number;
}

export type VersionKey = 'prepare' | 'copy' | 'cutover' | 'cancel' | 'restore';

export interface JobRow {
  id: string;
  kind: 'split' | 'move';
  source: string;
  target: string;
  phase: Phase;
  base_version: number;
  old_points: RingPoint[];
  new_points: RingPoint[];
  moved: MovedArc[];
  versions: Partial<Record<VersionKey, number>>;
  checkpoint: Checkpoint | null;
  copied: string;
  total: string | null;
  rate: number | null;
  verification: Verification | null;
  phase_times: Record<string, { startedAt: string; endedAt?: string }>;
  cancel_requested: boolean;
  error: string | null;
  created_at: Date;
  updated_at: Date;
}

/** Reshard jobs as stored in dialogdb: every step persists here, so any instance can resume. */
@Injectable()
export class ReshardJobRepository {
  constructor(private readonly db: DialogDb) {}

  async create(job: Pick<JobRow, 'id' | 'kind' | 'source' | 'target' | 'base_version' | 'old_points' | 'new_points' | 'moved'>): Promise<JobRow> {
    const rows = await this.db.query<JobRow>(
      `INSERT INTO reshard_jobs (id, kind, source, target, phase, base_version, old_points, new_points, moved, phase_times)
       VALUES ($1, $2, $3, $4, 'prepare', $5, $6, $7, $8, jsonb_build_object('prepare', jsonb_build_object('startedAt', now())))
       RETURNING *`,
      [job.id, job.kind, job.source, job.target, job.base_version, JSON.stringify(job.old_points), JSON.stringify(job.new_points), JSON.stringify(job.moved)],
    );
    return rows[0];
  }

  async get(id: string): Promise<JobRow | null> {
    const rows = await this.db.query<JobRow>('SELECT * FROM reshard_jobs WHERE id = $1', [id]);
    return rows[0] ?? null;
  }

  async active(): Promise<JobRow | null> {
    const rows = await this.db.query<JobRow>(`SELECT * FROM reshard_jobs WHERE NOT (phase = ANY($1)) LIMIT 1`, [TERMINAL_PHASES]);
    return rows[0] ?? null;
  }

  /** Jobs some instance should be driving: running ones, and failed ones asked to cancel. */
  async runnable(): Promise<string[]> {
    const rows = await this.db.query<{ id: string }>(
      `SELECT id FROM reshard_jobs WHERE phase = ANY($1) OR (phase = 'failed' AND cancel_requested)`,
      [RUNNING_PHASES],
    );
    return rows.map((r) => r.id);
  }

  /** True while a job is not over (running, or failed and not cancelled yet), or one changed within `ms`. */
  async busyWithin(ms: number): Promise<boolean> {
    const rows = await this.db.query<{ busy: boolean }>(
      `SELECT coalesce(bool_or(NOT (phase = ANY($2))
                               OR updated_at > now() - make_interval(secs => $1::double precision / 1000)), false) AS busy
       FROM reshard_jobs`,
      [ms, TERMINAL_PHASES],
    );
    return rows[0].busy;
  }

  async recent(limit: number): Promise<JobRow[]> {
    return this.db.query<JobRow>('SELECT * FROM reshard_jobs ORDER BY created_at DESC LIMIT $1', [limit]);
  }

  /**
   * Moves to the next phase, closing the timing of the one it leaves; false if the job was
   * not in `from`, or if it is about to pass cutover while a cancel was asked for.
   */
  async setPhase(id: string, from: Phase, to: Phase, extra: { verification?: Verification; error?: string | null } = {}): Promise<boolean> {
    if (!canMove(from, to)) throw new Error(`reshard ${id}: ${from} → ${to} is not a step of the workflow`);
    const rows = await this.db.query(
      `UPDATE reshard_jobs SET phase = $3,
         phase_times = jsonb_set(
           jsonb_set(phase_times, ARRAY[$2::text, 'endedAt'], to_jsonb(now()), true),
           ARRAY[$3::text], jsonb_build_object('startedAt', now()), true),
         verification = coalesce($4, verification),
         error = $5,
         updated_at = now()
       WHERE id = $1 AND phase = $2 AND NOT ($3 = 'cutover' AND cancel_requested)
       RETURNING id`,
      [id, from, to, extra.verification ? JSON.stringify(extra.verification) : null, extra.error ?? null],
    );
    return rows.length > 0;
  }

  async recordVersion(tx: PoolClient, id: string, key: VersionKey, version: number): Promise<void> {
    await tx.query(`UPDATE reshard_jobs SET versions = versions || jsonb_build_object($2::text, $3::int), updated_at = now() WHERE id = $1`, [
      id,
      key,
      version,
    ]);
  }

  async setTotal(id: string, total: number): Promise<void> {
    await this.db.query('UPDATE reshard_jobs SET total = $2, updated_at = now() WHERE id = $1', [id, total]);
  }

  /** The checkpoint and the count move together, so a resumed copy neither skips nor recounts rows. */
  async checkpoint(id: string, checkpoint: Checkpoint, copiedDelta: number, rate: number | null): Promise<void> {
    await this.db.query(
      'UPDATE reshard_jobs SET checkpoint = $2, copied = copied + $3, rate = $4, updated_at = now() WHERE id = $1',
      [id, JSON.stringify(checkpoint), copiedDelta, rate],
    );
  }

  async settleTotal(id: string): Promise<void> {
    await this.db.query('UPDATE reshard_jobs SET total = copied, updated_at = now() WHERE id = $1', [id]);
  }

  async setError(id: string, error: string | null): Promise<void> {
    await this.db.query('UPDATE reshard_jobs SET error = $2, updated_at = now() WHERE id = $1', [id, error]);
  }

  /** Asks for a cancel only while the job is before cutover; false once it is past it. */
  async requestCancel(id: string): Promise<boolean> {
    const rows = await this.db.query(
      'UPDATE reshard_jobs SET cancel_requested = true, updated_at = now() WHERE id = $1 AND phase = ANY($2) RETURNING id',
      [id, CANCELLABLE_PHASES],
    );
    return rows.length > 0;
  }

  async cancelRequested(id: string): Promise<boolean> {
    const rows = await this.db.query<{ cancel_requested: boolean }>('SELECT cancel_requested FROM reshard_jobs WHERE id = $1', [id]);
    return rows[0]?.cancel_requested ?? false;
  }
}
