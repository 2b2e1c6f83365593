import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown, Optional } from '@nestjs/common';
import { Client } from 'pg';
import { APP_CONFIG, ResolvedConfig } from '../config/app-config';
import { DialogDb } from '../database/dialog-db';
import { runMigrations } from '../database/migrate';
import { MessagesRepository } from '../messages/messages.repository';
import { arcSegments, MovedArc, Segment } from '../ring';
import { RingRepository } from '../routing/ring.repository';
import { RingService } from '../routing/ring.service';
import { Transition } from '../routing/router';
import { MetricsService } from '../observability/metrics.service';
import { BASELINE_MS, LatencyTracker } from './latency-tracker';
import { SHARD_PROVISIONER, ShardProvisioner } from './provisioner';
import { CANCELLABLE_PHASES, JobRow, Phase, ReshardJobRepository, Verification, VersionKey } from './reshard-job.repository';
import { Key, ShardOpsRepository } from './shard-ops.repository';
import { CLOCK_SKEW_MS, compareRows, uuidv7Floor } from './verify';

/** One SQL range of a moved arc, with the shards it moves between: the copier's unit of work. */
export interface PlanStep {
  source: string;
  target: string;
  segment: Segment;
}

/** The job's moved arcs cut into SQL ranges, in a fixed order the checkpoint indexes into. */
export function copyPlan(moved: MovedArc[]): PlanStep[] {
  return moved.flatMap((arc) => arcSegments(arc).map((segment) => ({ source: arc.source, target: arc.target, segment })));
}

/**
 * Halves the copy rate while live p99 is over target, and recovers it gently after. Never
 * under a fortieth of the cap: the transition itself (merged reads of two shards) raises
 * p99 whatever the copy does, and a job must still finish in bounded time.
 */
export function nextCopyRate(rate: number, p99: number | null, targetMs: number, maxRate: number): number {
  if (p99 !== null && p99 > targetMs) return Math.min(maxRate, Math.max(100, maxRate / 40, rate / 2));
  return Math.min(maxRate, rate * 1.25);
}

// The rate is judged at most this often, so each change can show in the live p99 before the next.
const JUDGE_EVERY_MS = 1_000;
const START_RATE = 10_000;

/**
 * Paces the copier: it starts at 10,000 rows/s (or the cap, if lower) and grows by a quarter
 * a second while live p99 allows. A batch holds about a tenth of a second of the current rate (within
 * RESHARD_BATCH), so a throttled copier works in small bursts that live requests hardly
 * queue behind, rather than in big ones with long pauses between.
 */
export class CopyThrottle {
  rate: number;
  private judgedAt = 0;

  constructor(
    private readonly maxRate: number,
    private readonly maxBatch: number,
    readonly targetMs: number,
    startRate = START_RATE,
  ) {
    // A slow start: the first batches also warm the target's caches and plans, and the live
    // p99 shows what the copy costs only after a second or two.
    this.rate = Math.min(maxRate, startRate);
  }

  batchSize(): number {
    return Math.min(this.maxBatch, Math.max(100, Math.round(this.rate / 10)));
  }

  /** After a batch: adjusts the rate to live p99 (once a second at most); returns the pause before the next. */
  after(rows: number, spentMs: number, p99: number | null, now = Date.now()): number {
    if (now - this.judgedAt >= JUDGE_EVERY_MS) {
      this.rate = nextCopyRate(this.rate, p99, this.targetMs, this.maxRate);
      this.judgedAt = now;
    }
    return Math.max(0, (rows / this.rate) * 1000 - spentMs);
  }
}

class Cancelled extends Error {}
class Stopping extends Error {}

const LOCK_CLASS = 7_240_002;
const SCAN_EVERY_MS = 2_000;
const LIST_LIMIT = 100;
// Verification compares checksums of chunks this many copy batches long.
const VERIFY_CHUNK_BATCHES = 5;
// Below this a p99 target would throttle the copier on the jitter of an idle service.
const MIN_LATENCY_TARGET_MS = 20;

/**
 * Drives reshard jobs through prepare → copy → verify → cutover → cleanup. Every step is
 * persisted in dialogdb and safe to run again, so any instance can take a job over after a
 * crash; a Postgres advisory lock keeps it to one runner per job across instances.
 */
@Injectable()
export class ReshardRunner implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Reshard');
  private readonly running = new Map<string, Promise<void>>();
  /** The session holding each job's advisory lock; the lock lives exactly as long as it. */
  private readonly locks = new Map<string, Client>();
  /** Each job's live p99 target, fixed when its copy begins and kept across retries of the job. */
  private readonly latencyTargets = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private stopping = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: ResolvedConfig,
    private readonly jobs: ReshardJobRepository,
    private readonly rings: RingRepository,
    private readonly ring: RingService,
    private readonly db: DialogDb,
    private readonly ops: ShardOpsRepository,
    private readonly messages: MessagesRepository,
    private readonly latency: LatencyTracker,
    private readonly metrics: MetricsService,
    @Optional() @Inject(SHARD_PROVISIONER) private readonly provisioner: ShardProvisioner | null,
  ) {
    // Read from dialogdb at scrape time: the job's state, whichever instance runs it.
    metrics.gauge('chat_reshard_phase', 'The latest reshard job: 1 on its current phase', ['job', 'phase'], async (g) => {
      const [job] = await this.jobs.recent(1).catch(() => []);
      if (job) g.set({ job: job.id, phase: job.phase }, 1);
    });
    metrics.gauge('chat_reshard_rows', 'The latest reshard job: rows copied and rows to copy', ['job', 'kind'], async (g) => {
      const [job] = await this.jobs.recent(1).catch(() => []);
      if (!job) return;
      g.set({ job: job.id, kind: 'copied' }, Number(job.copied));
      if (job.total !== null) g.set({ job: job.id, kind: 'total' }, Number(job.total));
    });
  }

  onApplicationBootstrap(): void {
    // Picks up jobs whose runner died, on this instance or any other.
    this.timer = setInterval(() => void this.scan(), SCAN_EVERY_MS);
    this.timer.unref();
    void this.scan();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    await Promise.allSettled(this.running.values());
  }

  /** Starts driving a job here unless this instance already does. */
  kick(jobId: string): void {
    if (this.stopping || this.running.has(jobId)) return;
    const run = this.run(jobId).finally(() => this.running.delete(jobId));
    this.running.set(jobId, run);
  }

  private async scan(): Promise<void> {
    try {
      for (const id of await this.jobs.runnable()) this.kick(id);
    } catch (err) {
      this.logger.warn(`looking for reshard jobs: ${(err as Error).message}`);
    }
  }

  private async run(jobId: string): Promise<void> {
    const lock = new Client({ connectionString: this.config.dialogDbUrl, connectionTimeoutMillis: this.config.connectTimeoutMs });
    lock.on('error', () => undefined);
    try {
      await lock.connect();
      const { rows } = await lock.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [LOCK_CLASS, jobId]);
      if (!rows[0].ok) return;
      this.locks.set(jobId, lock);
      await this.drive(jobId);
    } catch (err) {
      if (err instanceof Stopping) return;
      this.logger.error(`reshard ${jobId}: ${(err as Error).message}; will retry`);
      await this.jobs.setError(jobId, (err as Error).message).catch(() => undefined);
    } finally {
      this.locks.delete(jobId);
      await lock.end().catch(() => undefined);
    }
  }

  private async drive(jobId: string): Promise<void> {
    for (;;) {
      const job = await this.jobs.get(jobId);
      if (!job) return;
      if (job.cancel_requested && CANCELLABLE_PHASES.includes(job.phase)) {
        await this.cancel(job);
        return;
      }
      await this.checkOwner(job.id);
      if (job.error) await this.jobs.setError(job.id, null);
      try {
        switch (job.phase) {
          case 'prepare':
            await this.prepare(job);
            await this.advance(job, 'copy');
            break;
          case 'copy':
            await this.copy(job);
            await this.advance(job, 'verify');
            break;
          case 'verify': {
            const verification = await this.verify(job);
            if (!verification.passed) {
              await this.jobs.setPhase(job.id, 'verify', 'failed', {
                verification,
                error: `verification found ${verification.differences} difference(s); cutover blocked. Cancel the job to restore the old ring.`,
              });
              this.logger.error(`reshard ${job.id}: verify → failed: ${verification.differences} difference(s), cutover blocked`);
              return;
            }
            await this.advance(job, 'cutover', { verification });
            break;
          }
          case 'cutover':
            await this.cutover(job);
            await this.advance(job, 'cleanup');
            break;
          case 'cleanup':
            await this.cleanup(job);
            await this.advance(job, 'done');
            return;
          default:
            return;
        }
      } catch (err) {
        if (err instanceof Cancelled) continue;
        throw err;
      }
    }
  }

  private async advance(job: JobRow, to: Phase, extra: { verification?: Verification } = {}): Promise<void> {
    // Refused only when a cancel came in first; the next round of drive() cancels.
    if (!(await this.jobs.setPhase(job.id, job.phase, to, extra))) return;
    this.logger.log(`reshard ${job.id} (${job.kind} ${job.source} → ${job.target}): ${job.phase} → ${to}`);
  }

  private checkStopping(): void {
    if (this.stopping) throw new Stopping();
  }

  /**
   * Before each step and batch: if the lock's session broke, another instance may already
   * run this job, so stop here (the error makes this instance retry from the job row).
   */
  private async checkOwner(jobId: string): Promise<void> {
    this.checkStopping();
    await this.locks.get(jobId)!.query('SELECT 1');
  }

  // ---- prepare: the target exists and is migrated; every instance reads it before anyone writes there

  private async prepare(job: JobRow): Promise<void> {
    await this.ensureTarget(job.target);
    const version = await this.publish(job, 'prepare', job.old_points, { jobId: job.id, mode: 'write-source', moved: job.moved }, 'reshard prepare: reads merge the target');
    await this.awaitInstances(version);
  }

  private async ensureTarget(name: string): Promise<void> {
    let row = await this.rings.shard(name);
    if (!row) {
      if (!this.provisioner) throw new Error(`shard ${name} is not registered; register it with POST /admin/shards`);
      const url = await this.provisioner.provision(name);
      await this.rings.upsertShard(name, url, 'pending');
      row = (await this.rings.shard(name))!;
    }
    await runMigrations(row.url, 'shard');
  }

  // ---- copy: writes go to the target, the source is fenced, then its rows stream across

  private async copy(job: JobRow): Promise<void> {
    // Measured before this job's own work can move it.
    const latencyTarget = this.latencyTarget(job);
    const version = await this.publish(job, 'copy', job.old_points, { jobId: job.id, mode: 'write-target', moved: job.moved }, 'reshard copy: writes go to the target');
    const plan = copyPlan(job.moved);
    for (const source of new Set(plan.map((s) => s.source))) {
      const steps = plan.filter((s) => s.source === source);
      await this.ops.installFence(source, job.id, steps.map((s) => s.segment), steps[0].target);
    }
    // Stale instances find the fence and reload; waiting here only makes the logs tell the truth.
    await this.awaitInstances(version);
    if (job.total === null) {
      let total = 0;
      for (const step of plan) total += await this.ops.count(step.source, step.segment);
      await this.jobs.setTotal(job.id, total);
    }
    const throttle = new CopyThrottle(this.config.reshardMaxRowsPerSec, this.config.reshardBatch, latencyTarget);
    let reportedRate = throttle.rate;
    const window: Array<{ at: number; rows: number }> = [];
    for (let i = job.checkpoint?.segment ?? 0; i < plan.length; i++) {
      const step = plan[i];
      let after: Key | null = job.checkpoint && job.checkpoint.segment === i ? { hash: job.checkpoint.hash, id: job.checkpoint.id } : null;
      for (;;) {
        await this.checkOwner(job.id);
        if (await this.jobs.cancelRequested(job.id)) throw new Cancelled();
        const started = Date.now();
        const { rows, last } = await this.ops.copyBatch(step.source, step.target, step.segment, after, throttle.batchSize());
        if (!last) break;
        this.metrics.rowsCopied.inc({ target: step.target }, rows);
        after = last;
        window.push({ at: Date.now(), rows });
        while (window.length > 1 && window[0].at < Date.now() - 5000) window.shift();
        const span = Math.max(1, Date.now() - (window.length > 1 ? window[0].at : started));
        const observed = (window.reduce((n, w) => n + w.rows, 0) * 1000) / span;
        await this.jobs.checkpoint(job.id, { segment: i, ...after }, rows, Math.round(observed));
        const p99 = this.latency.p99();
        const pause = throttle.after(rows, Date.now() - started, p99);
        if (throttle.rate <= reportedRate / 4 || throttle.rate >= reportedRate * 4) {
          this.logger.log(`reshard ${job.id}: copy rate now ${Math.round(throttle.rate)} rows/s (live p99 ${p99 === null ? '–' : Math.round(p99)} ms, target ${latencyTarget} ms)`);
          reportedRate = throttle.rate;
        }
        if (pause > 0) await sleep(pause);
      }
      // The next segment starts from its beginning.
      job.checkpoint = null;
    }
  }

  /**
   * The live p99 the copier keeps under: as configured, or by default twice what it was
   * just before the job, so a reshard at most doubles the latency users see.
   */
  private latencyTarget(job: JobRow): number {
    if (this.config.reshardLatencyTargetMs !== null) return this.config.reshardLatencyTargetMs;
    let target = this.latencyTargets.get(job.id);
    if (target === undefined) {
      const before = this.latency.p99(BASELINE_MS);
      target = Math.round(Math.max(MIN_LATENCY_TARGET_MS, 2 * (before ?? 0)));
      this.latencyTargets.set(job.id, target);
      this.logger.log(`reshard ${job.id}: copy and verify keep live p99 under ${target} ms (p99 before: ${before === null ? 'too few requests' : `${before.toFixed(1)} ms`})`);
    }
    return target;
  }

  // ---- verify: chunk by chunk, every source row is on the target and unchanged unless edited there

  private async verify(job: JobRow): Promise<Verification> {
    // Paced like the copy, in rows checked: a checksum costs each Postgres less per row than a merge.
    const throttle = new CopyThrottle(
      VERIFY_CHUNK_BATCHES * this.config.reshardMaxRowsPerSec,
      VERIFY_CHUNK_BATCHES * Math.max(this.config.reshardBatch, 1000),
      this.latencyTarget(job),
      VERIFY_CHUNK_BATCHES * START_RATE,
    );
    const result: Verification = { passed: true, checked: 0, missing: [], changed: [], extra: [], differences: 0 };
    // Rows older than this were all on the source before the job began; they must match exactly.
    const recent = uuidv7Floor(job.created_at.getTime() - CLOCK_SKEW_MS);
    for (const step of copyPlan(job.moved)) {
      let after: Key | null = null;
      for (;;) {
        await this.checkOwner(job.id);
        if (await this.jobs.cancelRequested(job.id)) throw new Cancelled();
        const started = Date.now();
        const end = await this.ops.chunkEnd(step.source, step.segment, after, throttle.batchSize());
        const [source, target] = await Promise.all([step.source, step.target].map((s) => this.ops.digest(s, step.segment, after, end, recent)));
        // Rows edited on the target during the job differ legitimately, and rows sent during it
        // are on the target alone: only a row-by-row look tells those from a difference.
        const since = source.digest === target.digest ? recent : null;
        const [sourceRows, targetRows] = await Promise.all([step.source, step.target].map((s) => this.ops.scan(s, step.segment, after, 1_000_000, end, since)));
        const checked = sourceRows.length + (since ? source.rows : 0);
        result.checked += checked;
        const diff = compareRows(sourceRows, targetRows, job.created_at);
        for (const kind of ['missing', 'changed', 'extra'] as const) {
          result.differences += diff[kind].length;
          result[kind].push(...diff[kind].slice(0, LIST_LIMIT - result[kind].length));
        }
        if (!end) break;
        after = end;
        const pause = throttle.after(checked, Date.now() - started, this.latency.p99());
        if (pause > 0) await sleep(pause);
      }
    }
    result.passed = result.differences === 0;
    return result;
  }

  // ---- cutover: the new ring; reads and writes of moved arcs go to the target only

  private async cutover(job: JobRow): Promise<void> {
    const version = await this.publish(job, 'cutover', job.new_points, null, `reshard cutover: ${job.kind} ${job.source} → ${job.target}`);
    await this.awaitInstances(version);
  }

  // ---- cleanup: once nobody reads the source's copy, remove it, then lift the fence

  private async cleanup(job: JobRow): Promise<void> {
    const plan = copyPlan(job.moved);
    const stillOnRing = new Set(job.new_points.map((p) => p.shard));
    for (const step of plan) {
      if (!stillOnRing.has(step.source)) continue;
      await this.deleteSegment(job, step.source, step.segment);
    }
    for (const source of new Set(plan.map((s) => s.source))) {
      await this.ops.dropFence(source, job.id);
      if (!stillOnRing.has(source)) await this.retire(source);
    }
    await this.rings.setShardStatus(job.target, 'active');
  }

  /** Deletes a segment's rows from a shard in batches, paced like the copy. */
  private async deleteSegment(job: JobRow, shard: string, segment: Segment): Promise<void> {
    const throttle = new CopyThrottle(this.config.reshardMaxRowsPerSec, this.config.reshardBatch, this.latencyTarget(job));
    let after: Key | null = null;
    do {
      this.checkStopping();
      const started = Date.now();
      const batch = throttle.batchSize();
      after = await this.ops.deleteBatch(shard, segment, after, batch);
      const pause = throttle.after(batch, Date.now() - started, this.latency.p99());
      if (after && pause > 0) await sleep(pause);
    } while (after);
  }

  private async retire(name: string): Promise<void> {
    await this.rings.setShardStatus(name, 'retired');
    await this.provisioner?.retire(name);
    this.logger.log(`shard ${name} retired: its whole arc moved away`);
  }

  // ---- cancel: writes back to the source, the target's rows merged into it, the old ring restored

  private async cancel(job: JobRow): Promise<void> {
    this.logger.log(`reshard ${job.id}: cancelling in phase ${job.phase}`);
    const plan = copyPlan(job.moved);
    for (const source of new Set(plan.map((s) => s.source))) await this.ops.dropFence(source, job.id);
    const version = await this.publish(job, 'cancel', job.old_points, { jobId: job.id, mode: 'write-source', moved: job.moved }, 'reshard cancel: writes go back to the source');
    const targets = [...new Set(plan.map((s) => s.target))];
    for (const target of targets) {
      const steps = plan.filter((s) => s.target === target);
      if (await this.registered(target)) await this.ops.installFence(target, job.id, steps.map((s) => s.segment), steps[0].source);
    }
    await this.awaitInstances(version);
    for (const step of plan) {
      if (!(await this.registered(step.target))) continue;
      let after: Key | null = null;
      for (;;) {
        this.checkStopping();
        const { last } = await this.ops.copyBatch(step.target, step.source, step.segment, after, this.config.reshardBatch);
        if (!last) break;
        after = last;
      }
    }
    const restored = await this.publish(job, 'restore', job.old_points, null, 'reshard cancelled: the old ring is back');
    await this.awaitInstances(restored);
    for (const target of targets) {
      if (!(await this.registered(target))) continue;
      // The target goes back to being an empty spare: its copy is no longer anyone's.
      for (const step of plan.filter((s) => s.target === target)) {
        await this.deleteSegment(job, target, step.segment);
      }
      await this.ops.dropFence(target, job.id);
      await this.rings.setShardStatus(target, 'pending');
    }
    await this.jobs.setPhase(job.id, job.phase, 'cancelled');
    this.logger.log(`reshard ${job.id}: ${job.phase} → cancelled; ring v${restored} is the old ring`);
  }

  private async registered(name: string): Promise<boolean> {
    return (await this.rings.shard(name)) !== null;
  }

  // ---- ring versions

  /** Publishes a ring version once per job step; a resumed job finds it recorded and moves on. */
  private async publish(
    job: JobRow,
    key: VersionKey,
    points: JobRow['old_points'],
    transition: Transition | null,
    reason: string,
  ): Promise<number> {
    const known = job.versions[key];
    if (known !== undefined) return known;
    const version = await this.db.transaction(async (tx) => {
      const v = await this.rings.publish(tx, points, transition, reason);
      await this.jobs.recordVersion(tx, job.id, key, v);
      return v;
    });
    job.versions[key] = version;
    this.logger.log(`reshard ${job.id}: published ring v${version} (${reason})`);
    await this.ring.refresh();
    return version;
  }

  /**
   * Waits until every live instance serves `version`. An instance that stops heartbeating
   * stops serving within its lease, so after twice the lease it no longer counts.
   */
  private async awaitInstances(version: number): Promise<void> {
    let lastLog = Date.now();
    for (;;) {
      this.checkStopping();
      const lagging = await this.rings.lagging(version, 2 * this.config.ringLeaseMs);
      if (lagging.length === 0) return;
      if (Date.now() - lastLog > 5000) {
        lastLog = Date.now();
        this.logger.log(`waiting for ${lagging.map((i) => `${i.id} (v${i.ring_version})`).join(', ')} to serve ring v${version}`);
      }
      await sleep(100);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
