import { Controller, Get, Header, Headers, Inject, UnauthorizedException } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import { createHash, timingSafeEqual } from 'node:crypto';
import { Public } from '../auth/auth.decorators';
import { ApiErrors } from '../common/api-responses';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { MetricsService } from '../observability/metrics.service';

/**
 * Prometheus scrapes. Public unless METRICS_TOKEN is set: the metrics name shards, routes and
 * error rates, nothing about users, and a scraper cannot mint JWTs, so a fixed scrape token
 * (Prometheus' `authorization: { credentials_file: ... }`) is the lock, not a user token.
 */
@ApiTags('health')
@Public()
@Controller('metrics')
export class MetricsController {
  private readonly tokenDigest: Buffer | null;

  constructor(
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) config: Pick<AppConfig, 'metricsToken'>,
  ) {
    this.tokenDigest = config.metricsToken ? digest(config.metricsToken) : null;
  }

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiBearerAuth()
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'the Prometheus text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } })
  @ApiErrors({ 401: 'METRICS_TOKEN is set and the request does not carry it as a bearer token' })
  getMetrics(@Headers('authorization') authorization: string | undefined): Promise<string> {
    if (this.tokenDigest) {
      const sent = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
      // Digests first: timingSafeEqual needs equal lengths, and comparing digests tells a
      // timing observer nothing about the token's length or its first characters.
      if (sent === undefined || !timingSafeEqual(digest(sent), this.tokenDigest)) {
        throw new UnauthorizedException('/metrics needs Authorization: Bearer <METRICS_TOKEN>');
      }
    }
    return this.metrics.registry.metrics();
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
