import { ApiProperty } from '@nestjs/swagger';
import { RingPointDto, ShardDto } from '../admin/admin.dto';
import { ReshardJobDto } from '../reshard/reshard.dto';

// GET /state/data for the API document: StateData (state.service.ts) is what the code holds to.

export class StateShardDto extends ShardDto {
  @ApiProperty({ nullable: true, type: String, description: 'the last schema migration applied on the shard; null when it does not answer' })
  migration: string | null;
  @ApiProperty({ type: 'integer', description: 'its palette slot on the page' }) color: number;
}

export class StateTransitionDto {
  @ApiProperty({ description: 'how requests are routed while the ring changes' }) mode: string;
  @ApiProperty({ format: 'uuid' }) jobId: string;
}

export class StateRingDto {
  @ApiProperty({ type: 'integer' }) version: number;
  @ApiProperty({ type: [RingPointDto] }) points: RingPointDto[];
  @ApiProperty({ type: StateTransitionDto, nullable: true }) transition: StateTransitionDto | null;
  @ApiProperty({ description: 'how long ago this instance last refreshed its ring; past leaseMs it serves 503' }) refreshAgeMs: number;
  @ApiProperty({ type: 'integer' }) leaseMs: number;
}

export class StateInstanceDto {
  @ApiProperty() id: string;
  @ApiProperty({ type: 'integer' }) ringVersion: number;
  @ApiProperty() heartbeatAgeMs: number;
  @ApiProperty({ description: 'the instance that answered' }) self: boolean;
  @ApiProperty({ type: 'integer', description: 'event streams open on it' }) streams: number;
  @ApiProperty({ type: 'integer' }) eventsSent: number;
}

/** Each part is fetched on its own: a part whose database is down is null, and errors says which. */
export class StateDataDto {
  @ApiProperty() instanceId: string;
  @ApiProperty() generatedAt: string;
  @ApiProperty({ type: StateRingDto, nullable: true }) ring: StateRingDto | null;
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true, description: 'the ring drawn: arcs, markers, moving and pending shards (SVG geometry)' })
  layout: object | null;
  @ApiProperty({ type: [StateShardDto], nullable: true }) shards: StateShardDto[] | null;
  @ApiProperty({ nullable: true, type: String }) dialogdbMigration: string | null;
  @ApiProperty({ type: [StateInstanceDto], nullable: true }) instances: StateInstanceDto[] | null;
  @ApiProperty({ type: ReshardJobDto, nullable: true, description: 'the reshard not over yet, else the latest if it ended in the last 15 minutes' })
  job: ReshardJobDto | null;
  @ApiProperty({ type: [ReshardJobDto], nullable: true }) recentJobs: ReshardJobDto[] | null;
  @ApiProperty({ type: [String], description: 'the parts that could not be fetched, and why' }) errors: string[];
}
