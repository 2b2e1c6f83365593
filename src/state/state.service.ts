import { Inject, Injectable } from '@nestjs/common';
import { ShardDto } from '../admin/admin.dto';
import { AdminService } from '../admin/admin.service';
import { AuthUser } from '../auth/auth.decorators';
import { TokenService } from '../auth/token.service';
import { APP_CONFIG, ResolvedConfig } from '../config/app-config';
import { RingPoint } from '../ring';
import { RUNNING_PHASES, Phase } from '../reshard/workflow';
import { ReshardJobDto } from '../reshard/reshard.dto';
import { ReshardService } from '../reshard/reshard.service';
import { RingRepository } from '../routing/ring.repository';
import { RingService } from '../routing/ring.service';
import { TransitionMode } from '../routing/router';
import type { InstanceView, StateView } from './page/state-view';
import { colorOf, ringLayout } from './ring-layout';
import { StateRepository } from './state.repository';

export interface StateShard extends ShardDto {
  /** The last schema migration applied on the shard (its `schema_migrations`), null when it does not answer. */
  migration: string | null;
  /** Its palette slot on the page (the same as its arc's). */
  color: number;
}

/**
 * Everything the state page shows, in one poll. Counts, sizes, rates, ids and names only:
 * never a message's text. Each part is fetched on its own, so one database being down
 * costs only its part; `errors` says which. It extends what the page's script reads (the
 * fields not repeated here are as StateView declares them), so a change the script would
 * misread does not compile.
 */
export interface StateData extends StateView {
  generatedAt: string;
  ring: {
    version: number;
    points: RingPoint[];
    transition: { mode: TransitionMode; jobId: string } | null;
    /** How long ago this instance last refreshed its ring; past `leaseMs` it serves 503. */
    refreshAgeMs: number;
    leaseMs: number;
  } | null;
  shards: StateShard[] | null;
  /**
   * The reshard that is not over yet (running, or failed and waiting to be cancelled), else
   * the latest one if it ended less than 15 minutes ago.
   */
  job: ReshardJobDto | null;
  recentJobs: ReshardJobDto[] | null;
}

/** One snapshot serves every open page for this long, so N viewers cost the databases what one does. */
const FRESH_MS = 500;
const RECENT_JOBS = 5;
const SHOW_ENDED_JOB_MS = 15 * 60_000;

@Injectable()
export class StateService {
  private snapshot: { at: number; data: Promise<StateData> } | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: ResolvedConfig,
    private readonly tokens: TokenService,
    private readonly ringService: RingService,
    private readonly rings: RingRepository,
    private readonly repository: StateRepository,
    private readonly admin: AdminService,
    private readonly reshard: ReshardService,
  ) {}

  /**
   * The page is for operators: an admin token or a read-only viewer token (`role:
   * "viewer"`). A header wins over `?token=`, which exists because a browser cannot set
   * headers when it navigates.
   */
  async authorize(authorization: string | undefined, queryToken: string | undefined): Promise<AuthUser | null> {
    const bearer = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    const token = bearer ?? (typeof queryToken === 'string' ? queryToken : undefined);
    if (!token) return null;
    const user = await this.tokens.verify(token);
    return user && (user.admin || user.viewer) ? user : null;
  }

  data(): Promise<StateData> {
    const now = Date.now();
    if (!this.snapshot || now - this.snapshot.at >= FRESH_MS) this.snapshot = { at: now, data: this.collect() };
    return this.snapshot.data;
  }

  private async collect(): Promise<StateData> {
    const errors: string[] = [];
    const part = async <T>(what: string, load: () => Promise<T>): Promise<T | null> => {
      try {
        return await load();
      } catch (err) {
        errors.push(`${what}: ${(err as Error).message}`);
        return null;
      }
    };
    const state = this.ringService.lastKnown();
    const [shards, instances, jobs, dialogdbMigration] = await Promise.all([
      part('shards', () => this.shards()),
      part('instances', () => this.instances()),
      part('reshard jobs', () => this.reshard.list()),
      this.repository.dialogdbMigration().catch(() => null),
    ]);
    const live = jobs?.find((j) => j.phase !== 'done' && j.phase !== 'cancelled');
    // A job that has just ended stays in view a while, with its verification result.
    const latest = jobs?.[0];
    const job = live ?? (latest && Date.now() - Date.parse(latest.updatedAt) < SHOW_ENDED_JOB_MS ? latest : null);
    // The arcs a running reshard moves; after cutover (cleanup) they are still worth seeing.
    const moving = job && RUNNING_PHASES.includes(job.phase as Phase) ? job.moved : (state?.transition?.moved ?? []);
    if (!state) errors.push('ring: this instance has not loaded the ring yet');
    return {
      generatedAt: new Date().toISOString(),
      instanceId: this.ringService.instanceId,
      ring: state && {
        version: state.version,
        points: state.ring.toJSON(),
        transition: state.transition && { mode: state.transition.mode, jobId: state.transition.jobId },
        refreshAgeMs: this.ringService.refreshAgeMs(),
        leaseMs: this.config.ringLeaseMs,
      },
      layout: state && ringLayout(state.ring.toJSON(), moving),
      shards,
      dialogdbMigration,
      instances,
      job,
      recentJobs: jobs?.slice(0, RECENT_JOBS) ?? null,
      errors,
    };
  }

  private async shards(): Promise<StateShard[]> {
    const shards = await this.admin.shards();
    return Promise.all(
      shards.map(async (shard) => ({
        ...shard,
        color: colorOf(shard.name),
        migration: shard.healthy ? await this.repository.shardMigration(shard.name).catch(() => null) : null,
      })),
    );
  }

  /** Instances alive by the reshard runner's own rule (a heartbeat within two leases). */
  private async instances(): Promise<InstanceView[]> {
    const [rows, now] = await Promise.all([this.rings.liveInstances(2 * this.config.ringLeaseMs), this.repository.dialogdbNow()]);
    return rows.map((row) => ({
      id: row.id,
      ringVersion: row.ring_version,
      heartbeatAgeMs: Math.max(0, now.getTime() - row.heartbeat_at.getTime()),
      self: row.id === this.ringService.instanceId,
      streams: row.live_streams,
      eventsSent: Number(row.events_sent),
    }));
  }
}
