import { ApiExtraModels, ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { IsOptional, IsString, Matches } from 'class-validator';
import { SHARD_NAME } from '../config/app-config';
import { Phase, PHASES } from './workflow';

const NAME_MESSAGE = 'shard names are 1 to 63 characters: lower-case letters, digits, - and _';

export class RegisterShardDto {
  @ApiProperty({ example: 'messagedb-2' })
  @IsString()
  @Matches(SHARD_NAME, { message: NAME_MESSAGE })
  name: string;

  @ApiProperty({ example: 'postgres://chat:chat@messagedb-2:5432/messagedb' })
  @IsString()
  @Matches(/^postgres(ql)?:\/\/\S+$/, { message: 'url must be a postgres:// URL' })
  url: string;
}

export class ReshardRequestDto {
  @ApiPropertyOptional({ description: 'split this shard: a new shard takes the upper half of its arc' })
  @IsOptional()
  @IsString()
  @Matches(SHARD_NAME, { message: NAME_MESSAGE })
  split?: string;

  @ApiPropertyOptional({ description: "move this shard's whole arc to a fresh database (`to`)" })
  @IsOptional()
  @IsString()
  @Matches(SHARD_NAME, { message: NAME_MESSAGE })
  move?: string;

  @ApiPropertyOptional({
    description: 'the target shard: a registered spare, or (embedded default) a new name to start a server for',
  })
  @IsOptional()
  @IsString()
  @Matches(SHARD_NAME, { message: NAME_MESSAGE })
  to?: string;
}

export class ShardRegisteredDto {
  @ApiProperty() name: string;
  @ApiProperty({ enum: ['pending', 'active', 'retired'] }) status: string;
}

export class ReshardAcceptedDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: PHASES }) phase: Phase;
}

export class VerificationDto {
  @ApiProperty() passed: boolean;
  @ApiProperty() checked: number;
  @ApiProperty() differences: number;
  @ApiProperty({ type: [String], description: 'source rows the target lacks (first 100)' }) missing: string[];
  @ApiProperty({ type: [String], description: 'rows that differ, not by an edit made during the job (first 100)' }) changed: string[];
  @ApiProperty({ type: [String], description: 'old rows on the target the source never had (first 100)' }) extra: string[];
  @ApiPropertyOptional({ type: [String], description: 'read marks the target lacks or holds at an older message, as dialogId/userId (first 100)' })
  marks?: string[];
  @ApiPropertyOptional({ description: 'of checked, the read marks (the rest are messages)' }) marksChecked?: number;
  @ApiPropertyOptional({ description: "of differences, the read marks'" }) marksDifferences?: number;
}

export class PhaseTimeDto {
  @ApiProperty() startedAt: string;
  @ApiPropertyOptional() endedAt?: string;
}

export class MovedArcDto {
  @ApiProperty({ type: 'integer', description: 'inclusive, on the uint32 ring' }) start: number;
  @ApiProperty({ type: 'integer', description: 'exclusive; an arc may wrap past 2^32' }) end: number;
  @ApiProperty() source: string;
  @ApiProperty() target: string;
}

@ApiExtraModels(PhaseTimeDto)
export class ReshardJobDto {
  @ApiProperty() id: string;
  @ApiProperty({ enum: ['split', 'move'] }) kind: string;
  @ApiProperty() source: string;
  @ApiProperty() target: string;
  @ApiProperty({ enum: PHASES }) phase: Phase;
  @ApiProperty() copied: number;
  @ApiProperty({
    nullable: true,
    type: Number,
    description: "rows to copy: the source's estimate during the copy (exact under 100,000 rows), the rows copied once it is done",
  })
  total: number | null;
  @ApiProperty({ nullable: true, type: Number, description: 'rows copied per second, recently' }) rate: number | null;
  @ApiProperty({ nullable: true, type: Number }) etaSeconds: number | null;
  @ApiProperty({ nullable: true, type: VerificationDto }) verification: VerificationDto | null;
  @ApiProperty() cancelRequested: boolean;
  @ApiProperty({ nullable: true, type: String, description: 'the last error; the job retries unless it failed' }) error: string | null;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'integer' }, description: 'ring versions this job published, by step' })
  versions: Record<string, number>;
  @ApiProperty({ type: 'object', additionalProperties: { $ref: getSchemaPath(PhaseTimeDto) }, description: 'when each phase started and ended, by phase' })
  phaseTimes: Record<string, { startedAt: string; endedAt?: string }>;
  @ApiProperty({ type: [MovedArcDto], description: 'the arcs that move: [start, end) with source and target' })
  moved: Array<{ start: number; end: number; source: string; target: string }>;
  @ApiProperty() createdAt: string;
  @ApiProperty() updatedAt: string;
}
