import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { APP_CONFIG, ResolvedConfig } from '../config/app-config';
import { DomainErrorCode, DomainException } from '../common/domain.exception';
import { every } from '../common/every';
import { NotifyListener } from '../database/notify-listener';
import { Ring } from '../ring';
import { MetricsService } from '../observability/metrics.service';
import { ShardRegistry } from '../shards/shard-registry';
import { StreamStats } from '../events/stream-stats';
import { LiveWrites } from '../shards/live-writes';
import { LatencyTracker, strained } from '../reshard/latency-tracker';
import { RING_CHANNEL, RingRepository } from './ring.repository';
import { Route, RingState, routeDialog } from './router';

/**
 * The ring this instance serves. It learns of new versions through LISTEN/NOTIFY, with
 * polling as the fallback, and heartbeats the version it serves so a reshard can wait for
 * every instance. If it cannot refresh within its lease it stops serving (503) rather than
 * route by a ring that may be stale.
 */
@Injectable()
export class RingService implements OnApplicationShutdown {
  readonly instanceId = randomUUID();
  private readonly logger = new Logger('Ring');
  private state: RingState | null = null;
  private lastRefreshOk = 0;
  private refreshing: Promise<RingState> | null = null;
  private timers: NodeJS.Timeout[] = [];
  private readonly listener: NotifyListener;
  private stopped = false;
  /** The latest reshard job whose ring this instance served: its heartbeat says whether live traffic here suffers from it. */
  private strainJob: string | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: ResolvedConfig,
    private readonly repo: RingRepository,
    private readonly registry: ShardRegistry,
    metrics: MetricsService,
    private readonly latency: LatencyTracker,
    private readonly streams: StreamStats = new StreamStats(),
    private readonly writes: LiveWrites = new LiveWrites(),
  ) {
    this.listener = new NotifyListener({
      url: config.dialogDbUrl,
      connectTimeoutMs: config.connectTimeoutMs,
      channel: RING_CHANNEL,
      onNotify: () => void this.refresh().catch((err: Error) => this.logger.warn(`ring refresh on notify: ${err.message}`)),
      logger: this.logger,
    });
    metrics.gauge('chat_ring_version', 'The ring version this instance serves', [], (g) => {
      if (this.state) g.set(this.state.version);
    });
    metrics.gauge('chat_ring_refresh_age_seconds', 'Seconds since this instance last refreshed its ring', [], (g) => {
      if (this.lastRefreshOk) g.set(this.refreshAgeMs() / 1000);
    });
  }

  current(): RingState {
    if (!this.state) throw new DomainException(DomainErrorCode.RingUnavailable, 'the ring is not loaded yet');
    const age = Date.now() - this.lastRefreshOk;
    if (age > this.config.ringLeaseMs) {
      throw new DomainException(
        DomainErrorCode.RingUnavailable,
        `this instance could not refresh its ring for ${Math.round(age / 1000)} s and will not serve a stale one`,
      );
    }
    return this.state;
  }

  /** The state as last loaded, lease or not: for operators' views, never for routing data. */
  lastKnown(): RingState | null {
    return this.state;
  }

  refreshAgeMs(): number {
    return Date.now() - this.lastRefreshOk;
  }

  route(dialogId: string): Route {
    return routeDialog(this.current(), dialogId);
  }

  /**
   * Listening first, then visible to reshards (a heartbeat of version 0, "starting"), and
   * only then the ring: a ring published while this instance loads is either in what it
   * loads or announced to it, and a job waits for it rather than finishing unseen.
   */
  async start(): Promise<void> {
    this.logger.log(`instance ${this.instanceId} starting (reshards wait for this id to serve each new ring)`);
    if (this.config.ringListen) await this.listener.start();
    await this.repo.heartbeat(this.instanceId, 0, this.config.ringLeaseMs);
    await this.refresh();
    await this.heartbeat();
    const warn = (err: Error) => this.logger.warn(`ring refresh: ${err.message}`);
    this.timers.push(every(this.config.ringPollMs, () => this.refresh(), warn), every(this.config.heartbeatMs, () => this.heartbeat(), warn));
  }

  /** Loads the newest ring version; concurrent callers share one load. */
  refresh(): Promise<RingState> {
    this.refreshing ??= this.load().finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  private async load(): Promise<RingState> {
    // A stopping instance serves out what it accepted on the ring it has.
    if (this.stopped && this.state) return this.state;
    const latest = await this.repo.latest();
    if (!latest) throw new Error('dialogdb has no ring');
    // Every poll, so a database registered through another instance shows up here too; a new
    // version may name a shard added since, so pools come before the ring that uses them.
    const rows = await this.repo.shards();
    for (const row of rows) this.registry.add(row.name, this.registry.urlOf(row.name, row.url));
    for (const name of this.registry.names()) if (!rows.some((r) => r.name === name)) await this.registry.remove(name);
    if (!this.state || latest.version > this.state.version) {
      const ring = new Ring(latest.points);
      const needed = [...ring.shards(), ...(latest.transition?.moved.flatMap((a) => [a.source, a.target]) ?? [])];
      const missing = needed.filter((s) => !this.registry.has(s));
      if (missing.length) throw new Error(`ring v${latest.version} names unregistered shards: ${missing.join(', ')}`);
      // Before this instance serves (and heartbeats) a ring that sends traffic to a new shard.
      for (const shard of new Set(latest.transition?.moved.map((a) => a.target) ?? [])) {
        await this.registry.warm(shard, Math.ceil(this.config.shardPoolSize / 2));
      }
      if (latest.transition && latest.transition.jobId !== this.strainJob) {
        this.strainJob = latest.transition.jobId;
        // The baseline is what this instance saw before it served the job's first ring.
        this.latency.targetFor(this.strainJob, this.config.reshardLatencyTargetMs);
      }
      const previous = this.state?.version;
      this.state = { version: latest.version, ring, transition: latest.transition };
      this.logger.log(
        `serving ring v${latest.version}${previous ? ` (was v${previous})` : ''}: ${latest.reason}; ` +
          ring.points.map((p) => `${p.shard}@${p.point}`).join(', ') +
          (latest.transition ? `; ${latest.transition.mode} for ${latest.transition.moved.length} moved arc(s)` : ''),
      );
      if (previous !== undefined) void this.heartbeat();
    }
    if (this.state.transition?.mode === 'write-target') {
      // Each poll, not only on NOTIFY: the checkpoint moves without a new ring version.
      this.state = { ...this.state, copied: await this.repo.copyProgress(this.state.transition.jobId) };
    }
    this.lastRefreshOk = Date.now();
    return this.state;
  }

  private async heartbeat(): Promise<void> {
    if (!this.state || this.stopped) return;
    const live = this.latency.live();
    const over = this.strainJob !== null && strained(live, this.latency.targetFor(this.strainJob, this.config.reshardLatencyTargetMs).targetMs);
    await this.repo.heartbeat(this.instanceId, this.state.version, this.config.ringLeaseMs, { p99: live.p99, strained: over }, this.streams, this.writes.rates());
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.timers.forEach(clearInterval);
    await this.listener.stop();
    // Leaving at once, rather than letting the heartbeat expire, lets a reshard go on.
    await this.repo.forgetInstance(this.instanceId).catch(() => undefined);
  }
}
