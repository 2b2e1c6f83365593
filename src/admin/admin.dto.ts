import { ApiProperty } from '@nestjs/swagger';
import { HOT_FACTOR, HOT_FLOOR_PER_SEC } from './hot-shards';

export class RingPointDto {
  @ApiProperty() point: number;
  @ApiProperty() shard: string;
}

export class RingDto {
  @ApiProperty() version: number;
  @ApiProperty({ type: [RingPointDto] }) points: RingPointDto[];
}

export class RouteDto {
  @ApiProperty() dialogId: string;
  @ApiProperty({ description: 'CRC-32 of the dialog id, unsigned' }) hash: number;
  @ApiProperty({ description: 'the shard that takes writes' }) shard: string;
  @ApiProperty({ type: [String], description: 'the shards reads merge, more than one only during a reshard' }) reads: string[];
}

export class ShardDto {
  @ApiProperty() name: string;
  @ApiProperty({ nullable: true, type: Number, description: 'null for a registered shard that is not on the ring' })
  point: number | null;
  @ApiProperty({ description: 'fraction of the ring this shard owns, 0..1' }) arcShare: number;
  @ApiProperty({ nullable: true, type: Number }) rows: number | null;
  @ApiProperty({ nullable: true, type: Number }) bytes: number | null;
  @ApiProperty({ nullable: true, type: Number, description: 'messages sent per second over the last minute, by every live instance (a reshard\'s copying does not count)' })
  writeRate: number | null;
  @ApiProperty() healthy: boolean;
  @ApiProperty({ enum: ['active', 'pending'], description: 'pending: registered, on no arc yet (a spare or a reshard target)' })
  status: string;
  @ApiProperty({
    nullable: true,
    type: Number,
    description: '1 = the most write load (by writeRate, then rows) among the shards on the ring; null for a shard on no arc',
  })
  loadRank: number | null;
  @ApiProperty({
    description:
      'true for at most one shard: the one to split (POST /admin/reshard {"split": name}). Its writeRate is at least ' +
      `${HOT_FLOOR_PER_SEC} insert/s and more than ${HOT_FACTOR} times the mean of the other ring shards; never during a reshard`,
  })
  splitCandidate: boolean;
}
