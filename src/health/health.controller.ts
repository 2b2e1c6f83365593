import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/auth.decorators';
import { HealthDto, LivenessDto, ReadinessDto } from './health.dto';
import { Health, HealthService, Probe, Readiness } from './health.service';

/** Sends a probe's status code and returns its body for Nest to serialize. */
function answer<T>(reply: FastifyReply, probe: Probe<T>): T {
  void reply.status(probe.httpStatus);
  return probe.body;
}

/**
 * `/health`: every database, 200 only when all answer. `/health/live`: the process runs.
 * `/health/ready`: this instance can serve. Both `/health` and `/health/ready` answer 503
 * `not ready` while the instance drains (HealthService says why).
 */
@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get('live')
  @ApiOkResponse({ type: LivenessDto, description: 'the process runs' })
  getLiveness(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOkResponse({ type: ReadinessDto, description: 'ready: a current ring and dialogdb' })
  @ApiServiceUnavailableResponse({ type: ReadinessDto, description: 'not ready, and why' })
  async getReadiness(@Res({ passthrough: true }) reply: FastifyReply): Promise<Readiness> {
    return answer(reply, await this.health.readiness());
  }

  @Get()
  @ApiOkResponse({ type: HealthDto, description: 'every database answers' })
  @ApiServiceUnavailableResponse({ type: HealthDto, description: 'degraded (naming the databases down), or shutting down' })
  async getHealth(@Res({ passthrough: true }) reply: FastifyReply): Promise<Health> {
    return answer(reply, await this.health.health());
  }
}
