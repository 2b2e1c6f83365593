import { arcSegments, MovedArc, Segment } from '../ring';
import { Transition } from '../routing/router';
import type { FullMessageRow } from '../shards/message-schema';
import { Checkpoint, JobRow, Verification, VersionKey } from './reshard-job.repository';
import type { Key, CopiedBatch, MarkKey, MarkRow } from './shard-ops.repository';
import { JobTarget, LiveNow, strained } from './latency-tracker';
import { uuidv7Floor } from '../shards/uuidv7';
import { CLOCK_SKEW_MS, compareMarks, compareRows } from './verify';
import { ArcGrant, CANCELLABLE_PHASES, GRANTS, grantOrder, GrantStep, Phase, shardGrants, sides } from './workflow';

// The small interfaces a reshard's steps run over: dialogdb's job rows and ring, the shards'
// rows and arcs, the instances, the pace. The service implements them with Postgres
// (ReshardRunner); the workflow tests with fakes whose timing and failures they control.

export interface JobStore {
  get(id: string): Promise<JobRow | null>;
  /** False when the job is not in `from`, or a cancel came first on the way to cutover. */
  setPhase(id: string, from: Phase, to: Phase, extra?: { verification?: Verification; error?: string | null }): Promise<boolean>;
  setTotal(id: string, total: number): Promise<void>;
  checkpoint(id: string, checkpoint: Checkpoint, copiedDelta: number, rate: number | null): Promise<void>;
  /** The copy is done: `total` becomes the rows it copied. */
  settleTotal(id: string): Promise<void>;
  setError(id: string, error: string | null): Promise<void>;
  cancelRequested(id: string): Promise<boolean>;
}

export interface RingPublisher {
  /** Publishes version `expected + 1` only if `expected` is the newest, and records it in the job under `key`, atomically. */
  publish(jobId: string, key: VersionKey, expected: number, points: JobRow['old_points'], transition: Transition | null, reason: string): Promise<number>;
  /** This instance serves the newest version at once. */
  refresh(): Promise<unknown>;
}

export interface InstanceBarrier {
  /** Live instances that still serve a version below `version`. */
  lagging(version: number): Promise<Array<{ id: string; ring_version: number }>>;
}

export interface ArcStore {
  setArcs(shard: string, grants: ArcGrant[], ringVersion: number, reason: string, jobId: string | null): Promise<void>;
}

export interface RowMover {
  /** About how many rows a segment holds, from the shard's statistics: no scan. */
  estimate(shard: string, segment: Segment): Promise<number>;
  copyBatch(from: string, to: string, segment: Segment, after: Key | null, limit: number): Promise<CopiedBatch>;
  chunkEnd(shard: string, segment: Segment, after: Key | null, size: number): Promise<Key | null>;
  digest(shard: string, segment: Segment, after: Key | null, upTo: Key | null, before: string): Promise<{ rows: number; digest: string | null }>;
  scan(shard: string, segment: Segment, after: Key | null, limit: number, upTo?: Key | null, since?: string | null): Promise<FullMessageRow[]>;
  deleteBatch(shard: string, segment: Segment, after: Key | null, limit: number): Promise<Key | null>;
  /** The same walks over read marks, keyed by (ring_hash, dialog_id, user_id): a copy keeps the greater mark. */
  copyMarks(from: string, to: string, segment: Segment, after: MarkKey | null, limit: number): Promise<CopiedBatch<MarkKey>>;
  scanMarks(shard: string, segment: Segment, after: MarkKey | null, limit: number, upTo?: MarkKey | null): Promise<MarkRow[]>;
  deleteMarks(shard: string, segment: Segment, after: MarkKey | null, limit: number): Promise<MarkKey | null>;
}

export interface ShardDirectory {
  /** The target exists (provisioned where the deployment can), is registered and migrated, and this instance can reach it. */
  ensureTarget(name: string): Promise<void>;
  status(name: string): Promise<'active' | 'pending' | 'retired' | null>;
  setStatus(name: string, status: 'active' | 'pending' | 'retired'): Promise<void>;
  /** Stops a retired shard's server where the deployment runs it; its data are kept. */
  retire(name: string): Promise<void>;
}

export interface Pacer {
  /** The live p99 this instance keeps under during the job, fixed when first asked. */
  target(jobId: string): JobTarget;
  /** What live traffic feels now, here and on the other instances (as of their heartbeats, read at most once a second). */
  live(): Promise<LiveSignal>;
  sleep(ms: number): Promise<void>;
}

/** Throws when this runner may no longer drive the job: its lock is gone, or the service is stopping. */
export interface Lease {
  check(): Promise<void>;
}

export interface ReshardPorts {
  jobs: JobStore;
  ring: RingPublisher;
  barrier: InstanceBarrier;
  arcs: ArcStore;
  rows: RowMover;
  shards: ShardDirectory;
  pacer: Pacer;
  lease: Lease;
  onRowsCopied?(target: string, rows: number): void;
}

export interface ReshardSettings {
  batch: number;
  maxRowsPerSec: number;
}

export interface StepLog {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

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

/** What live traffic feels now, on this instance and the others: the pace's input. */
export interface LiveSignal extends LiveNow {
  /** Other live instances with requests to judge by, as of their latest heartbeats. */
  othersServing: number;
  /** Other live instances over their own targets (see `strained`). */
  strainedElsewhere: string[];
}

/** The least share of time a job's batches get, whatever live traffic feels: a job always ends. */
export const MIN_DUTY = 0.05;
/** What a fine second adds to the duty. Multiplied instead, it overshot from a few percent to all of the time in seconds. */
const DUTY_STEP = 0.05;

/** No live traffic anywhere: nothing for the job to give way to. */
function idle(live: LiveSignal): boolean {
  return live.p99 === null && live.othersServing === 0;
}

/**
 * The next duty: the share of wall time the job's batches may take. All of the time with no
 * live traffic anywhere: nobody waits for the cores. When traffic comes back, from the floor
 * again, as a job that starts beside it. Halved while live p99 here is over target, the event
 * loop here is saturated, or another instance reports the same of itself; grown by five
 * points while all is fine. Never under MIN_DUTY: the transition itself (merged reads of two
 * shards) can hold p99 over target whatever the job does.
 */
export function nextDuty(duty: number, live: LiveSignal, targetMs: number, wasIdle: boolean): number {
  if (idle(live)) return 1;
  if (wasIdle) return MIN_DUTY;
  if (strained(live, targetMs) || live.strainedElsewhere.length > 0) return Math.max(MIN_DUTY, duty / 2);
  return Math.min(1, duty + DUTY_STEP);
}

// The duty is judged at most this often, so each change can show in live p99 before the next.
const JUDGE_EVERY_MS = 1_000;

/**
 * How much of the machine a job may take, as a duty: after a batch that took t ms the job
 * rests t × (1 − duty) / duty ms. A duty is a share of time, so one learned while copying
 * holds for verification and cleanup too, whatever each costs per row; and a batch slowed by
 * a busy machine earns a longer rest, where a rows/s pace would go on at once.
 */
export class Throttle {
  duty: number;
  /** Whether no live traffic was seen anywhere when last judged. */
  idle: boolean;
  private judgedAt: number;

  constructor(
    readonly targetMs: number,
    live: LiveSignal,
    now = Date.now(),
  ) {
    // Beside live traffic, from the floor: the job's first seconds (a new ring on every
    // instance, merged reads, a cold target) already cost live requests more than later ones.
    this.idle = idle(live);
    this.duty = this.idle ? 1 : MIN_DUTY;
    this.judgedAt = now;
  }

  judge(live: LiveSignal, now = Date.now()): void {
    if (now - this.judgedAt < JUDGE_EVERY_MS) return;
    this.duty = nextDuty(this.duty, live, this.targetMs, this.idle);
    this.idle = idle(live);
    this.judgedAt = now;
  }

  /** The rest after a batch that took `spentMs`. */
  rest(spentMs: number): number {
    return (spentMs * (1 - this.duty)) / this.duty;
  }
}

// Batches aim at about this much work, more when nothing live waits. Not less than
// MIN_BATCH rows: on a busy machine a batch's time is mostly its round trips waiting their
// turn, so sizing small batches by their time only shrank them further, to a crawl.
const LIVE_BATCH_MS = 100;
const IDLE_BATCH_MS = 250;
const MIN_BATCH = 1000;
// With no live traffic anywhere a batch may hold this many times the configured largest
// batch: each batch's fixed costs (its transaction, the checkpoint) then weigh less.
export const IDLE_BATCH_FACTOR = 4;

/**
 * Sizes one walk's batches to a time budget from the rows per ms its batches achieve, and
 * keeps it under a rows/s cap; the throttle's duty decides the rest between batches. A live
 * request does not wait for a whole batch: the batch's statements share the cores with it,
 * so what it feels is the share of time the job takes, which the duty bounds.
 */
export class BatchPacer {
  private rowsPerMs: number | null = null;

  constructor(
    private readonly throttle: Throttle,
    private readonly maxRowsPerSec: number,
    private readonly maxBatch: number,
    private readonly minBatch = MIN_BATCH,
  ) {}

  size(): number {
    const idle = this.throttle.idle;
    const budgetMs = idle ? IDLE_BATCH_MS : LIVE_BATCH_MS;
    const maxBatch = idle ? IDLE_BATCH_FACTOR * this.maxBatch : this.maxBatch;
    // The first batch, with no measure yet, is small.
    const rows = this.rowsPerMs === null ? this.minBatch : Math.round(this.rowsPerMs * budgetMs);
    return Math.max(1, Math.min(maxBatch, Math.max(this.minBatch, rows)));
  }

  /** After a batch: learns its speed, lets the throttle judge, and returns the rest before the next. */
  after(rows: number, spentMs: number, live: LiveSignal, now = Date.now()): number {
    const speed = rows / Math.max(1, spentMs);
    this.rowsPerMs = this.rowsPerMs === null ? speed : 0.7 * this.rowsPerMs + 0.3 * speed;
    this.throttle.judge(live, now);
    return Math.max(this.throttle.rest(spentMs), (rows / this.maxRowsPerSec) * 1000 - spentMs, 0);
  }
}

/** A cancel was asked for: the runner goes back to the job row, which says what to do. */
export class Cancelled extends Error {}

interface RangeWalk<K> {
  batch(after: K | null, size: number): Promise<CopiedBatch<K>>;
  /** After each batch that moved on: checkpoints and counters. */
  done?(rows: number, last: K): Promise<void>;
}

const LIST_LIMIT = 100;
// Verification compares checksums of chunks this many copy batches long.
const VERIFY_CHUNK_BATCHES = 5;

/**
 * Drives one reshard job through the workflow (src/reshard/workflow.ts): prepare → copy →
 * verify → cutover → cleanup, or a cancel. Every step is persisted through the ports and safe
 * to run again, so a runner that resumes after a crash at any point finishes the job.
 */
export class ReshardSteps {
  /** Each job's throttle, made when the job first runs here and kept across retries of it. */
  private readonly throttles: Map<string, Throttle>;

  constructor(
    private readonly p: ReshardPorts,
    private readonly settings: ReshardSettings,
    private readonly log: StepLog,
    throttles?: Map<string, Throttle>,
  ) {
    this.throttles = throttles ?? new Map();
  }

  /** The same steps (and remembered throttles) under one run's lease. */
  withLease(lease: Lease): ReshardSteps {
    return new ReshardSteps({ ...this.p, lease }, this.settings, this.log, this.throttles);
  }

  async drive(jobId: string): Promise<void> {
    for (;;) {
      const job = await this.p.jobs.get(jobId);
      if (!job) return;
      await this.p.lease.check();
      if (job.cancel_requested && CANCELLABLE_PHASES.includes(job.phase)) {
        await this.cancel(job);
        return;
      }
      if (job.error) await this.p.jobs.setError(job.id, null);
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
              await this.p.jobs.setPhase(job.id, 'verify', 'failed', {
                verification,
                error: `verification found ${verification.differences} difference(s); cutover blocked. Cancel the job to restore the old ring.`,
              });
              this.log.error(`reshard ${job.id}: verify → failed: ${verification.differences} difference(s), cutover blocked`);
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
    if (!(await this.p.jobs.setPhase(job.id, job.phase, to, extra))) return;
    this.log.log(`reshard ${job.id} (${job.kind} ${job.source} → ${job.target}): ${job.phase} → ${to}`);
  }

  // ---- prepare: the target exists and is migrated; every instance reads it before anyone writes there

  private async prepare(job: JobRow): Promise<void> {
    // The throttle measures the baseline p99 now, before the job's own work can move it.
    await this.throttle(job);
    await this.p.shards.ensureTarget(job.target);
    await this.grant(job, 'prepare');
    const version = await this.publish(job, 'prepare', job.old_points, { jobId: job.id, mode: 'write-source', moved: job.moved }, 'reshard prepare: reads merge the target');
    await this.awaitInstances(version, job.id);
  }


  // ---- copy: the target takes the writes, the source only serves merged reads, then its rows stream across

  private async copy(job: JobRow): Promise<void> {
    // The source stops taking writes before the target starts (see grantOrder): when this
    // returns, every write the source accepted has committed, so the copy below sees it.
    await this.grant(job, 'copy');
    const version = await this.publish(job, 'copy', job.old_points, { jobId: job.id, mode: 'write-target', moved: job.moved }, 'reshard copy: writes go to the target');
    // Stale instances are refused by the source and reload; waiting only keeps that rare.
    await this.awaitInstances(version, job.id);
    const plan = copyPlan(job.moved);
    if (job.total === null) {
      // An estimate for progress and ETA: an exact count would scan half the source, on a
      // busy shard, for a number the copy itself establishes.
      let total = 0;
      for (const step of plan) total += await this.p.rows.estimate(step.source, step.segment);
      await this.p.jobs.setTotal(job.id, total);
    }
    const pacer = new BatchPacer(await this.throttle(job), this.settings.maxRowsPerSec, this.settings.batch);
    const window: Array<{ at: number; rows: number }> = [];
    for (let i = job.checkpoint?.segment ?? 0; i < plan.length; i++) {
      const step = plan[i];
      // A segment's read marks go before its messages, and again whenever the segment is
      // resumed: the checkpoint, and the target's copied_below, say how far the copy is past a
      // dialog, and from there it is read from the target alone, marks included.
      await this.copyMarks(job, step.source, step.target, step.segment, true);
      const resumeAt: Key | null = job.checkpoint && job.checkpoint.segment === i ? { hash: job.checkpoint.hash, id: job.checkpoint.id } : null;
      await this.pacedRange<Key>(job, 'copy', pacer, resumeAt, true, {
        batch: (after, size) => this.p.rows.copyBatch(step.source, step.target, step.segment, after, size),
        done: async (rows, last) => {
          this.p.onRowsCopied?.(step.target, rows);
          const now = Date.now();
          window.push({ at: now, rows });
          while (window.length > 1 && window[0].at < now - 5000) window.shift();
          const span = Math.max(1, now - window[0].at);
          const observed = window.length > 1 ? (window.slice(1).reduce((n, w) => n + w.rows, 0) * 1000) / span : null;
          await this.p.jobs.checkpoint(job.id, { segment: i, ...last }, rows, observed === null ? null : Math.round(observed));
        },
      });
      // The next segment starts from its beginning.
      job.checkpoint = null;
    }
    await this.p.jobs.settleTotal(job.id);
  }

  /**
   * A segment's read marks, from one shard into another, the greater mark winning. They are
   * few (one per participant of a dialog), so the walk keeps no checkpoint: a resumed copy or
   * cancel walks them again, which changes nothing that was already copied.
   */
  private async copyMarks(job: JobRow, from: string, to: string, segment: Segment, cancellable: boolean): Promise<void> {
    // A pacer of its own: marks' speed says nothing of how big a batch of messages should be.
    await this.pacedRange<MarkKey>(job, 'copy read marks', await this.rowPacer(job), null, cancellable, {
      batch: (after, size) => this.p.rows.copyMarks(from, to, segment, after, size),
    });
  }

  /**
   * The one paced walk over a key range that copy, verify, cleanup and cancel share: `batch`
   * handles about `size` rows after a key and returns how many and the last key (null when
   * the range is done); the pacer sizes batches and rests between them as live traffic allows.
   * Between batches it checks that this instance still holds the job, and (`cancellable`) for a cancel.
   */
  private async pacedRange<K>(job: JobRow, work: string, pacer: BatchPacer, start: K | null, cancellable: boolean, walk: RangeWalk<K>): Promise<void> {
    const throttle = await this.throttle(job);
    // Judged afresh: the duty may date from the job's prepare, when traffic was different.
    const live = await this.p.pacer.live();
    throttle.judge(live);
    let reported = throttle.duty;
    this.log.log(`reshard ${job.id}: ${work} starts at ${paceText(throttle, live)}`);
    let after = start;
    for (;;) {
      await this.p.lease.check();
      if (cancellable && (await this.p.jobs.cancelRequested(job.id))) throw new Cancelled();
      const started = Date.now();
      const { rows, last } = await walk.batch(after, pacer.size());
      if (!last) return;
      after = last;
      await walk.done?.(rows, last);
      const live = await this.p.pacer.live();
      const rest = pacer.after(rows, Date.now() - started, live);
      if (throttle.duty <= reported / 4 || throttle.duty >= Math.min(1, reported * 4)) {
        if (throttle.duty !== reported) this.log.log(`reshard ${job.id}: ${work} now takes ${paceText(throttle, live)}`);
        reported = throttle.duty;
      }
      if (rest > 0) await this.p.pacer.sleep(rest);
    }
  }

  /** The job's throttle, made when it first runs here and kept across retries. */
  private async throttle(job: JobRow): Promise<Throttle> {
    let throttle = this.throttles.get(job.id);
    if (throttle === undefined) {
      const { targetMs, baselineMs } = this.p.pacer.target(job.id);
      throttle = new Throttle(targetMs, await this.p.pacer.live());
      this.throttles.set(job.id, throttle);
      this.log.log(
        `reshard ${job.id}: copy, verify and cleanup keep live p99 under ${targetMs} ms here, and each instance under its own target ` +
          `(p99 before: ${baselineMs === null ? 'too few requests' : `${baselineMs.toFixed(1)} ms`})`,
      );
    }
    return throttle;
  }

  // ---- verify: chunk by chunk, every source row is on the target and unchanged unless edited there

  private async verify(job: JobRow): Promise<Verification> {
    // Capped in rows checked: a checksum costs each Postgres less per row than a merge.
    const pacer = new BatchPacer(
      await this.throttle(job),
      VERIFY_CHUNK_BATCHES * this.settings.maxRowsPerSec,
      VERIFY_CHUNK_BATCHES * Math.max(this.settings.batch, 1000),
      VERIFY_CHUNK_BATCHES * MIN_BATCH,
    );
    const result: Verification = { passed: true, checked: 0, missing: [], changed: [], extra: [], marks: [], differences: 0, marksChecked: 0, marksDifferences: 0 };
    // Rows older than this were all on the source before the job began; they must match exactly.
    const recent = uuidv7Floor(job.created_at.getTime() - CLOCK_SKEW_MS);
    for (const step of copyPlan(job.moved)) {
      await this.pacedRange<Key>(job, 'verify', pacer, null, true, {
        batch: async (after, size) => {
          const end = await this.p.rows.chunkEnd(step.source, step.segment, after, size);
          const [source, target] = await Promise.all([step.source, step.target].map((s) => this.p.rows.digest(s, step.segment, after, end, recent)));
          // Rows edited on the target during the job differ legitimately, and rows sent during it
          // are on the target alone: only a row-by-row look tells those from a difference.
          const since = source.digest === target.digest ? recent : null;
          const [sourceRows, targetRows] = await Promise.all([step.source, step.target].map((s) => this.p.rows.scan(s, step.segment, after, 1_000_000, end, since)));
          const checked = sourceRows.length + (since ? source.rows : 0);
          result.checked += checked;
          const diff = compareRows(sourceRows, targetRows, job.created_at);
          for (const kind of ['missing', 'changed', 'extra'] as const) {
            result.differences += diff[kind].length;
            result[kind].push(...diff[kind].slice(0, LIST_LIMIT - result[kind].length));
          }
          return { rows: checked, last: end };
        },
      });
      // Every source mark is on the target, at the same message or a later one.
      await this.pacedRange<MarkKey>(job, 'verify read marks', await this.rowPacer(job), null, true, {
        batch: async (after, size) => {
          const source = await this.p.rows.scanMarks(step.source, step.segment, after, size);
          if (source.length === 0) return { rows: 0, last: null };
          const last = source[source.length - 1];
          const upTo = { hash: last.ring_hash, dialogId: last.dialog_id, userId: last.user_id };
          const differing = compareMarks(source, await this.p.rows.scanMarks(step.target, step.segment, after, 1_000_000, upTo));
          result.checked += source.length;
          result.marksChecked! += source.length;
          result.differences += differing.length;
          result.marksDifferences! += differing.length;
          result.marks!.push(...differing.slice(0, LIST_LIMIT - result.marks!.length));
          return { rows: source.length, last: upTo };
        },
      });
    }
    result.passed = result.differences === 0;
    return result;
  }

  // ---- cutover: the new ring; reads and writes of moved arcs go to the target only

  private async cutover(job: JobRow): Promise<void> {
    await this.grant(job, 'cutover');
    // The target owns an arc from here on: never a spare again, whatever happens next.
    await this.p.shards.setStatus(job.target, 'active');
    const version = await this.publish(job, 'cutover', job.new_points, null, `reshard cutover: ${job.kind} ${job.source} → ${job.target}`);
    await this.awaitInstances(version);
  }

  // ---- cleanup: once nobody reads the source's copy, the source stops serving it, and it goes

  private async cleanup(job: JobRow): Promise<void> {
    const stillOnRing = new Set(job.new_points.map((p) => p.shard));
    // A move's source is retired last; a job resumed after that has nothing left to do here.
    if ((await this.p.shards.status(job.source)) !== 'retired') {
      // Stale readers of the source's copy are refused from here on, before a row goes.
      await this.grant(job, 'cleanup');
      for (const step of copyPlan(job.moved)) {
        if (stillOnRing.has(step.source)) await this.deleteSegment(job, step.source, step.segment);
      }
      if (!stillOnRing.has(job.source)) await this.retire(job.source);
    }
    await this.p.shards.setStatus(job.target, 'active');
  }

  /** Deletes a segment's rows and read marks from a shard in batches, paced like the copy. */
  private async deleteSegment(job: JobRow, shard: string, segment: Segment): Promise<void> {
    await this.pacedRange<Key>(job, 'cleanup', await this.rowPacer(job), null, false, {
      batch: async (after, size) => ({ rows: size, last: await this.p.rows.deleteBatch(shard, segment, after, size) }),
    });
    await this.pacedRange<MarkKey>(job, 'cleanup read marks', await this.rowPacer(job), null, false, {
      batch: async (after, size) => ({ rows: size, last: await this.p.rows.deleteMarks(shard, segment, after, size) }),
    });
  }

  private async rowPacer(job: JobRow): Promise<BatchPacer> {
    return new BatchPacer(await this.throttle(job), this.settings.maxRowsPerSec, this.settings.batch);
  }

  private async retire(name: string): Promise<void> {
    // Recorded first: a crash after it leaves a job that resumes past the source, never one
    // that keeps trying to reach a server that was stopped.
    await this.p.shards.setStatus(name, 'retired');
    this.log.log(`shard ${name} retired: its whole arc moved away`);
    await this.p.shards.retire(name).catch((err: Error) => this.log.warn(`retiring ${name}'s server: ${err.message}`));
  }

  // ---- cancel: writes back to the source, the target's rows merged into it, the old ring restored

  private async cancel(job: JobRow): Promise<void> {
    this.log.log(`reshard ${job.id}: cancelling in phase ${job.phase}`);
    if (job.phase === 'prepare') {
      // The target never took a write (it does from the copy step on): publishing the old
      // ring is all, and the target is not touched, so a dead or never-migrated one is no obstacle.
      const restored = await this.publish(job, 'restore', job.old_points, null, 'reshard cancelled: the old ring is back');
      await this.awaitInstances(restored);
      await this.finishCancel(job, restored);
      return;
    }
    const plan = copyPlan(job.moved);
    if (job.versions.restore === undefined) {
      // The target stops taking writes before the source starts again (see grantOrder).
      await this.grant(job, 'cancel');
      const version = await this.publish(job, 'cancel', job.old_points, { jobId: job.id, mode: 'write-source', moved: job.moved }, 'reshard cancel: writes go back to the source');
      await this.awaitInstances(version);
      // Everything written to the target during the job goes back, by the merge rule.
      for (const step of plan) {
        // Marks first, as in the copy: the source's copied_below then covers them too.
        await this.copyMarks(job, step.target, step.source, step.segment, false);
        await this.pacedRange<Key>(job, 'cancel', await this.rowPacer(job), null, false, {
          batch: (after, size) => this.p.rows.copyBatch(step.target, step.source, step.segment, after, size),
        });
      }
      await this.grant(job, 'restore');
      await this.publish(job, 'restore', job.old_points, null, 'reshard cancelled: the old ring is back');
    }
    const restored = job.versions.restore!;
    await this.awaitInstances(restored);
    // Stale merged reads of the target are refused from here on, before its copy goes.
    await this.grant(job, 'released');
    for (const step of plan) await this.deleteSegment(job, step.target, step.segment);
    await this.p.shards.setStatus(job.target, 'pending');
    await this.finishCancel(job, restored);
  }

  private async finishCancel(job: JobRow, restored: number): Promise<void> {
    await this.p.jobs.setPhase(job.id, job.phase, 'cancelled');
    this.log.log(`reshard ${job.id}: ${job.phase} → cancelled; ring v${restored} is the old ring`);
  }

  // ---- the arcs each shard serves

  /**
   * Sets the arcs the job's shards serve for one step, the side that stops taking writes
   * first. Every step is idempotent, so a resumed job simply sets them again.
   */
  private async grant(job: JobRow, step: GrantStep): Promise<void> {
    const grant = GRANTS[step];
    const { sources, targets } = sides(job.moved);
    for (const side of grantOrder(grant)) {
      for (const shard of side === 'source' ? sources : targets) {
        const arcs = shardGrants(job.old_points, job.new_points, grant, shard);
        await this.p.arcs.setArcs(shard, arcs, lastVersion(job), `reshard ${job.id}: ${step}`, job.id);
      }
    }
  }

  // ---- ring versions

  /**
   * Publishes a ring version once per job step; a resumed job finds it recorded and moves on.
   * Compare-and-set: it is published only on top of the version the job last published (or
   * started from), so a job never stacks a ring onto one it did not expect.
   */
  private async publish(
    job: JobRow,
    key: VersionKey,
    points: JobRow['old_points'],
    transition: Transition | null,
    reason: string,
  ): Promise<number> {
    const known = job.versions[key];
    if (known !== undefined) return known;
    const version = await this.p.ring.publish(job.id, key, lastVersion(job), points, transition, reason);
    job.versions[key] = version;
    this.log.log(`reshard ${job.id}: published ring v${version} (${reason})`);
    await this.p.ring.refresh();
    return version;
  }

  /**
   * Waits until every live instance serves `version`. An instance that stops heartbeating
   * stops serving within its own lease, so after twice that lease it no longer counts. The
   * shards refuse whatever a lagging instance would do wrong; this wait only keeps those
   * refusals (and their retries) rare. With `cancellable`, a cancel asked for meanwhile
   * ends the wait, so an instance that never catches up cannot hold a cancel back.
   */
  private async awaitInstances(version: number, cancellable?: string): Promise<void> {
    let lastLog = Date.now();
    for (;;) {
      await this.p.lease.check();
      const lagging = await this.p.barrier.lagging(version);
      if (lagging.length === 0) return;
      if (cancellable && (await this.p.jobs.cancelRequested(cancellable))) throw new Cancelled();
      if (Date.now() - lastLog > 5000) {
        lastLog = Date.now();
        this.log.log(`waiting for ${lagging.map((i) => `${i.id} (v${i.ring_version})`).join(', ')} to serve ring v${version}`);
      }
      await this.p.pacer.sleep(100);
    }
  }
}

/** The duty and why, for the log: `5 % of the time (live p99 41 ms, target 20 ms; ...)`. */
function paceText(throttle: Throttle, live: LiveSignal): string {
  const p99 = live.p99 === null ? 'too few requests' : `${Math.round(live.p99)} ms`;
  const elsewhere = live.strainedElsewhere.length ? `; over target on ${live.strainedElsewhere.join(', ')}` : '';
  return `${Math.round(throttle.duty * 100)} % of the time (live p99 ${p99}, target ${throttle.targetMs} ms; event loop ${Math.round(live.loopBusy * 100)} % busy${elsewhere})`;
}

/** The ring version a job last published, or the one it started from: what its next publication expects. */
export function lastVersion(job: Pick<JobRow, 'base_version' | 'versions'>): number {
  return Math.max(job.base_version, ...Object.values(job.versions).filter((v): v is number => v !== undefined));
}
