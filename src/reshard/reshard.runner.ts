import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown, Optional } from '@nestjs/common';
import { Client } from 'pg';
import { APP_CONFIG, ResolvedConfig } from '../config/app-config';
import { DialogDb } from '../database/dialog-db';
import { runMigrations } from '../database/migrate';
import { MetricsService } from '../observability/metrics.service';
import { RingRepository } from '../routing/ring.repository';
import { RingService } from '../routing/ring.service';
import { ShardRegistry } from '../shards/shard-registry';
import { LatencyTracker } from './latency-tracker';
import { SHARD_PROVISIONER, ShardProvisioner } from './provisioner';
import { ReshardJobRepository } from './reshard-job.repository';
import { ReshardSteps } from './reshard-steps';
import { ShardOpsRepository } from './shard-ops.repository';

/** This runner may no longer drive the job: the service is stopping. */
class Stopping extends Error {}

const LOCK_CLASS = 7_240_002;
const SCAN_EVERY_MS = 2_000;
const OTHERS_EVERY_MS = 1_000;

/**
 * Runs reshard jobs in the service: finds the jobs some instance should drive, takes each
 * one's Postgres advisory lock (one runner per job across instances), and drives it with
 * ReshardSteps over the Postgres implementations of its ports. A job whose runner died is
 * picked up within SCAN_EVERY_MS by any instance, from what its row says.
 */
@Injectable()
export class ReshardRunner implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Reshard');
  private readonly running = new Map<string, Promise<void>>();
  private readonly steps: ReshardSteps;
  private timer?: NodeJS.Timeout;
  private stopping = false;
  /** The other instances' strain, as of their heartbeats; read at most once a second while a job runs. */
  private others: { othersServing: number; strainedElsewhere: string[] } = { othersServing: 0, strainedElsewhere: [] };
  private othersAt = 0;

  constructor(
    @Inject(APP_CONFIG) private readonly config: ResolvedConfig,
    private readonly jobs: ReshardJobRepository,
    private readonly rings: RingRepository,
    private readonly ring: RingService,
    db: DialogDb,
    ops: ShardOpsRepository,
    private readonly registry: ShardRegistry,
    latency: LatencyTracker,
    metrics: MetricsService,
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
    this.steps = new ReshardSteps(
      {
        jobs,
        ring: {
          publish: (jobId, key, expected, points, transition, reason) =>
            db.transaction(async (tx) => {
              const v = await rings.publish(tx, expected, points, transition, reason);
              await jobs.recordVersion(tx, jobId, key, v);
              return v;
            }),
          refresh: () => ring.refresh(),
        },
        barrier: { lagging: (version) => rings.lagging(version) },
        arcs: ops,
        rows: ops,
        shards: {
          ensureTarget: (name) => this.ensureTarget(name),
          status: async (name) => (await rings.shard(name))?.status ?? null,
          setStatus: (name, status) => rings.setShardStatus(name, status),
          retire: async (name) => {
            await provisioner?.retire(name);
          },
        },
        pacer: {
          target: (jobId) => latency.targetFor(jobId, config.reshardLatencyTargetMs),
          live: async () => ({ ...latency.live(), ...(await this.elsewhere()) }),
          sleep,
        },
        lease: { check: () => Promise.reject(new Error('no lease: the runner drives jobs only under their lock')) },
        onRowsCopied: (target, rows) => metrics.rowsCopied.inc({ target }, rows),
      },
      { batch: config.reshardBatch, maxRowsPerSec: config.reshardMaxRowsPerSec },
      this.logger,
    );
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
      // Before each step and batch: if the lock's session broke, another instance may already
      // run this job, so stop here (the error makes this instance retry from the job row).
      const lease = {
        check: async () => {
          if (this.stopping) throw new Stopping();
          await lock.query('SELECT 1');
        },
      };
      await this.steps.withLease(lease).drive(jobId);
    } catch (err) {
      if (err instanceof Stopping) return;
      this.logger.error(`reshard ${jobId}: ${(err as Error).message}; will retry`);
      await this.jobs.setError(jobId, (err as Error).message).catch(() => undefined);
    } finally {
      await lock.end().catch(() => undefined);
    }
  }

  private async elsewhere(): Promise<{ othersServing: number; strainedElsewhere: string[] }> {
    if (Date.now() - this.othersAt >= OTHERS_EVERY_MS) {
      this.othersAt = Date.now();
      try {
        const others = await this.rings.othersStrain(this.ring.instanceId);
        this.others = { othersServing: others.filter((o) => o.p99 !== null).length, strainedElsewhere: others.filter((o) => o.strained).map((o) => o.id) };
      } catch (err) {
        // The job's own steps fail on the same dialogdb soon enough; meanwhile pace by what is known.
        this.logger.warn(`reading the other instances' strain: ${(err as Error).message}`);
      }
    }
    return this.others;
  }

  private async ensureTarget(name: string): Promise<void> {
    let row = await this.rings.shard(name);
    if (!row) {
      if (!this.provisioner) throw new Error(`shard ${name} is not registered; register it with POST /admin/shards`);
      const url = await this.provisioner.provision(name);
      await this.rings.registerShard(name, url, 'pending');
      row = (await this.rings.shard(name))!;
    }
    await runMigrations(this.registry.urlOf(name, row.url), 'shard');
    // This instance's registry gets the target's pool before the job changes the target's arcs.
    await this.ring.refresh();
  }
}
