import { HttpStatus, Injectable } from '@nestjs/common';
import { ShutdownService } from '../lifecycle/shutdown.service';
import { RingService } from '../routing/ring.service';
import { ShardRegistry } from '../shards/shard-registry';
import { HealthRepository } from './health.repository';

export type Status = 'up' | 'down';

/** A probe's answer: the HTTP status and the body, which says why when it is not 200. */
export interface Probe<T> {
  httpStatus: HttpStatus;
  body: T;
}

export interface Readiness {
  status: 'ready' | 'not ready';
  ringVersion: number | null;
  ringRefreshAgeMs: number;
  dialogdb: Status;
  reason?: string;
}

export interface Health {
  status: 'ok' | 'degraded' | 'not ready';
  reason?: string;
  databases?: Record<string, Status>;
}

const PROBE_TIMEOUT_MS = 1000;
const SHUTTING_DOWN = 'shutting down';

async function probe(check: () => Promise<unknown>, timeoutMs: number): Promise<Status> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
  });
  try {
    await Promise.race([check(), timeout]);
    return 'up';
  } catch {
    return 'down';
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Both readiness and health answer 503 `not ready` from the moment the instance starts
 * draining, so a balancer stops sending it work while it finishes what it holds.
 * Health: every database, 200 only when all answer. Readiness: this instance can serve, i.e.
 * it holds a current ring (within its lease) and reaches dialogdb; a shard that is down fails
 * only its own dialogs, not readiness.
 */
@Injectable()
export class HealthService {
  constructor(
    private readonly repository: HealthRepository,
    private readonly registry: ShardRegistry,
    private readonly ring: RingService,
    private readonly shutdown: ShutdownService,
  ) {}

  async readiness(): Promise<Probe<Readiness>> {
    let reason: string | undefined = this.shutdown.draining ? SHUTTING_DOWN : undefined;
    try {
      this.ring.current();
    } catch (err) {
      reason ??= (err as Error).message;
    }
    const dialogdb = await probe(() => this.repository.pingDialogDb(), PROBE_TIMEOUT_MS);
    if (!reason && dialogdb === 'down') reason = 'dialogdb does not answer';
    return {
      httpStatus: reason ? HttpStatus.SERVICE_UNAVAILABLE : HttpStatus.OK,
      body: {
        status: reason ? 'not ready' : 'ready',
        ringVersion: this.ring.lastKnown()?.version ?? null,
        ringRefreshAgeMs: Math.round(this.ring.refreshAgeMs()),
        dialogdb,
        ...(reason ? { reason } : {}),
      },
    };
  }

  async health(): Promise<Probe<Health>> {
    if (this.shutdown.draining) return { httpStatus: HttpStatus.SERVICE_UNAVAILABLE, body: { status: 'not ready', reason: SHUTTING_DOWN } };
    const names = this.registry.names();
    const [dialogdb, ...shards] = await Promise.all([
      probe(() => this.repository.pingDialogDb(), PROBE_TIMEOUT_MS),
      ...names.map((name) => probe(() => this.repository.pingShard(name), PROBE_TIMEOUT_MS)),
    ]);
    const databases: Record<string, Status> = { dialogdb };
    names.forEach((name, i) => (databases[name] = shards[i]));
    const ok = Object.values(databases).every((s) => s === 'up');
    return { httpStatus: ok ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE, body: { status: ok ? 'ok' : 'degraded', databases } };
  }
}
