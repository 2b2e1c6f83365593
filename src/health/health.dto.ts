import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

// The probes' bodies, for the API document.

export class LivenessDto {
  @ApiProperty({ enum: ['ok'] }) status: 'ok';
}

export class ReadinessDto {
  @ApiProperty({ enum: ['ready', 'not ready'] }) status: 'ready' | 'not ready';
  @ApiProperty({ type: 'integer', nullable: true, description: 'the ring this instance holds; null before it loaded one' }) ringVersion: number | null;
  @ApiProperty({ type: 'integer', description: 'how long ago this instance last refreshed its ring' }) ringRefreshAgeMs: number;
  @ApiProperty({ enum: ['up', 'down'] }) dialogdb: 'up' | 'down';
  @ApiPropertyOptional({ description: 'why it is not ready (shutting down, no current ring, dialogdb down)' }) reason?: string;
}

export class HealthDto {
  @ApiProperty({ enum: ['ok', 'degraded', 'not ready'], description: 'not ready: the instance is shutting down' })
  status: 'ok' | 'degraded' | 'not ready';
  @ApiPropertyOptional({ description: 'why it is not ready' }) reason?: string;
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string', enum: ['up', 'down'] },
    description: 'dialogdb and every shard on the ring, each up or down',
    example: { dialogdb: 'up', 'shard-0': 'up', 'shard-1': 'down' },
  })
  databases?: Record<string, 'up' | 'down'>;
}
