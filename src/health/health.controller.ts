import { Controller, Get, HttpStatus, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/auth.decorators';
import { DialogDb } from '../database/dialog-db';
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

/** 200 when every database answers, 503 naming the ones that do not. */
@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly dialogDb: DialogDb,
    private readonly registry: ShardRegistry,
  ) {}

  @Get()
  async getHealth(@Res({ passthrough: true }) reply: FastifyReply): Promise<{ status: 'ok' | 'degraded'; databases: Record<string, Status> }> {
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
