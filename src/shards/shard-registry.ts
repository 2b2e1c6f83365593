import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Pool, PoolClient, QueryResultRow } from 'pg';
import { APP_CONFIG, ResolvedConfig } from '../config/app-config';
import { withAvailability } from '../common/db-errors';
import { inTransaction } from '../database/transaction';
import { DomainErrorCode, DomainException } from '../common/domain.exception';
import { MetricsService } from '../observability/metrics.service';
import { OWNERSHIP_SQLSTATE, OwnershipError } from './ownership.error';

export interface ShardHandle {
  readonly name: string;
  readonly url: string;
  readonly pool: Pool;
}

/**
 * One pg pool per shard, created at runtime as shards are registered. A pool connects
 * lazily, so a shard that is down never blocks start-up: its requests fail fast with 503
 * and it recovers by itself when the server is back.
 */
@Injectable()
export class ShardRegistry implements OnApplicationShutdown {
  private readonly logger = new Logger(ShardRegistry.name);
  private readonly shards = new Map<string, ShardHandle>();
  private readonly localUrls: ReadonlyMap<string, string>;
  private closed = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: ResolvedConfig,
    private readonly metrics: MetricsService,
  ) {
    this.localUrls = new Map([...config.shards, ...config.spareShards].map((s) => [s.name, s.url]));
    metrics.gauge('chat_shard_pool_connections', 'Connections of each shard pool on this instance, by state', ['shard', 'state'], (g) => {
      for (const { name, pool } of this.shards.values()) {
        g.set({ shard: name, state: 'total' }, pool.totalCount);
        g.set({ shard: name, state: 'idle' }, pool.idleCount);
        g.set({ shard: name, state: 'waiting' }, pool.waitingCount);
      }
    });
  }

  /**
   * The URL this instance uses for a shard: its own setting (SHARD_URLS, SPARE_SHARD_URLS)
   * when it has one, else the registry's, which is the default for every instance.
   */
  urlOf(name: string, registered: string): string {
    return this.localUrls.get(name) ?? registered;
  }

  names(): string[] {
    return [...this.shards.keys()];
  }

  has(name: string): boolean {
    return this.shards.has(name);
  }

  get(name: string): ShardHandle {
    const shard = this.shards.get(name);
    if (!shard) throw new DomainException(DomainErrorCode.ShardNotFound, `unknown shard ${name}`, { shard: name });
    return shard;
  }

  /**
   * Adds a shard, or replaces its pool when its URL changed. Once the registry has closed its
   * pools, it opens none: a ring reload still in flight at shutdown would otherwise leave a
   * pool whose connections outlive the instance (and meet the embedded servers' stop).
   */
  add(name: string, url: string): ShardHandle {
    if (this.closed) throw new Error(`shard ${name}: the shard registry is closed, this instance is stopping`);
    const existing = this.shards.get(name);
    if (existing?.url === url) return existing;
    if (existing) void this.endPool(existing);
    const pool = new Pool({
      connectionString: url,
      // Every instance holds a pool per shard, so pools stay small; raise SHARD_POOL_SIZE
      // rather than the server's max_connections when one instance needs more.
      max: this.config.shardPoolSize,
      connectionTimeoutMillis: this.config.connectTimeoutMs,
      statement_timeout: this.config.statementTimeoutMs,
      idleTimeoutMillis: 30_000,
      application_name: 'chat-api',
    });
    // Idle clients of a stopped server emit errors; without a listener they crash the process.
    pool.on('error', (err) => this.logger.warn(`shard ${name}: idle connection error: ${err.message}`));
    const handle = { name, url, pool };
    this.shards.set(name, handle);
    return handle;
  }

  async remove(name: string): Promise<void> {
    const shard = this.shards.get(name);
    if (!shard) return;
    this.shards.delete(name);
    await this.endPool(shard);
  }

  /**
   * Runs one statement on a shard; an unreachable shard becomes a 503 naming it, and a
   * statement on a hash the shard does not serve an OwnershipError the caller answers by
   * reloading the ring.
   */
  async query<R extends QueryResultRow>(
    name: string,
    text: string,
    values: unknown[],
    statementName?: string,
  ): Promise<R[]> {
    const shard = this.shards.get(name);
    // A route names a shard this instance no longer knows (a move retired it while the
    // request waited): the ring has moved on, exactly as when a shard refuses.
    if (!shard) throw new OwnershipError(name, 'statement: the shard is no longer registered');
    const { pool } = shard;
    const timer = this.metrics.shardQuerySeconds.startTimer({ shard: name });
    let outcome = 'ok';
    try {
      return await withAvailability(DomainErrorCode.ShardUnavailable, name, async () => {
        try {
          const result = await pool.query<R>(statementName ? { name: statementName, text, values } : { text, values });
          return result.rows;
        } catch (err) {
          const e = err as { code?: string; detail?: string };
          if (e.code === OWNERSHIP_SQLSTATE) throw new OwnershipError(name, e.detail ?? 'statement');
          // The pool was closed under the statement: the shard left the registry (retired).
          if (this.shards.get(name) !== shard) throw new OwnershipError(name, 'statement: the shard left the registry meanwhile');
          throw err;
        }
      });
    } catch (err) {
      outcome = err instanceof OwnershipError ? 'refused' : err instanceof DomainException ? 'unavailable' : 'error';
      throw err;
    } finally {
      timer();
      this.metrics.shardQueries.inc({ shard: name, outcome });
    }
  }

  /**
   * Opens connections to a shard ahead of need, one after another, up to `count` in the pool.
   * A reshard target's pool is empty until its first requests, which would otherwise all pay
   * for connecting (and Postgres for forking backends) at once, the moment writes switch
   * over. Best effort: a shard that does not answer is left to fail fast as usual.
   */
  async warm(name: string, count: number, withinMs = 1000): Promise<void> {
    const { pool } = this.get(name);
    const until = Date.now() + withinMs;
    const clients: PoolClient[] = [];
    try {
      while (pool.totalCount < count && Date.now() < until) clients.push(await pool.connect());
    } catch (err) {
      this.logger.warn(`shard ${name}: warming its pool: ${(err as Error).message}`);
    } finally {
      for (const client of clients) client.release();
    }
  }

  /** A transaction on one shard, for the resharding steps that need SET LOCAL or several statements. */
  async transaction<T>(name: string, fn: (client: PoolClient) => Promise<T>): Promise<T> {
    const { pool } = this.get(name);
    return withAvailability(DomainErrorCode.ShardUnavailable, name, () => inTransaction(pool, fn));
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    const all = [...this.shards.values()];
    this.shards.clear();
    await Promise.all(all.map((s) => this.endPool(s)));
  }

  private async endPool(shard: ShardHandle): Promise<void> {
    await shard.pool.end().catch((err: Error) => this.logger.warn(`shard ${shard.name}: closing pool: ${err.message}`));
  }
}
