import { Controller, Get, HttpStatus, Res } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/auth.decorators';
import { DialogDb } from '../database/dialog-db';
import { HealthDto, LivenessDto, ReadinessDto } from './health.dto';
import { ShutdownService } from '../lifecycle/shutdown.service';
import { RingService } from '../routing/ring.service';
import { ShardRegistry } from '../shards/shard-registry';

type Status = 'up' | 'down';

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

const SHUTTING_DOWN = 'shutting down';

/**
 * Both `/health` and `/health/ready` answer 503 `not ready` from the moment the instance
 * starts draining, so a balancer stops sending it work while it finishes what it holds.
 * `/health`: every database, 200 only when all answer. `/health/live`: the process runs.
 * `/health/ready`: this instance can serve, i.e. it holds a current ring (within its lease)
 * and reaches dialogdb; a shard that is down fails only its own dialogs, not readiness.
 */
@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly dialogDb: DialogDb,
    private readonly registry: ShardRegistry,
    private readonly ring: RingService,
    private readonly shutdown: ShutdownService,
  ) {}

  @Get('live')
  @ApiOkResponse({ type: LivenessDto, description: 'the process runs' })
  getLiveness(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOkResponse({ type: ReadinessDto, description: 'ready: a current ring and dialogdb' })
  @ApiServiceUnavailableResponse({ type: ReadinessDto, description: 'not ready, and why' })
  async getReadiness(
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<{ status: 'ready' | 'not ready'; ringVersion: number | null; ringRefreshAgeMs: number; dialogdb: Status; reason?: string }> {
    let reason: string | undefined = this.shutdown.draining ? SHUTTING_DOWN : undefined;
    try {
      this.ring.current();
    } catch (err) {
      reason ??= (err as Error).message;
    }
    const dialogdb = await probe(() => this.dialogDb.query('SELECT 1'), 1000);
    if (!reason && dialogdb === 'down') reason = 'dialogdb does not answer';
    void reply.status(reason ? HttpStatus.SERVICE_UNAVAILABLE : HttpStatus.OK);
    return {
      status: reason ? 'not ready' : 'ready',
      ringVersion: this.ring.lastKnown()?.version ?? null,
      ringRefreshAgeMs: Math.round(this.ring.refreshAgeMs()),
      dialogdb,
      ...(reason ? { reason } : {}),
    };
  }

  @Get()
  @ApiOkResponse({ type: HealthDto, description: 'every database answers' })
  @ApiServiceUnavailableResponse({ type: HealthDto, description: 'degraded (naming the databases down), or shutting down' })
  async getHealth(
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<{ status: 'ok' | 'degraded' | 'not ready'; reason?: string; databases?: Record<string, Status> }> {
    if (this.shutdown.draining) {
      void reply.status(HttpStatus.SERVICE_UNAVAILABLE);
      return { status: 'not ready', reason: SHUTTING_DOWN };
    }
    const names = this.registry.names();
    const [dialogdb, ...shards] = await Promise.all([
      probe(() => this.dialogDb.query('SELECT 1'), 1000),
      ...names.map((name) => probe(() => this.registry.query(name, 'SELECT 1', []), 1000)),
    ]);
    const databases: Record<string, Status> = { dialogdb };
    names.forEach((name, i) => (databases[name] = shards[i]));
    const ok = Object.values(databases).every((s) => s === 'up');
    void reply.status(ok ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE);
    return { status: ok ? 'ok' : 'degraded', databases };
  }
}
