import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { AdminOnly } from '../auth/auth.decorators';
import { ApiAdminAuth, ApiErrors, BODY_ERRORS } from '../common/api-responses';
import { UuidPipe } from '../common/uuid.pipe';
import { RegisterShardDto, ReshardAcceptedDto, ReshardJobDto, ReshardRequestDto, ShardRegisteredDto } from './reshard.dto';
import { ReshardService } from './reshard.service';

@ApiTags('admin')
@ApiAdminAuth()
@AdminOnly()
@Controller('admin')
export class ReshardController {
  constructor(private readonly reshard: ReshardService) {}

  @Post('shards')
  @ApiCreatedResponse({ type: ShardRegisteredDto, description: 'registered as a spare: checked, migrated, on no arc yet' })
  @ApiErrors({
    ...BODY_ERRORS,
    409: 'RESHARD_CONFLICT: a shard of this name is already registered',
    422: 'DATABASE_UNREACHABLE: the database at url cannot be reached',
  })
  registerShard(@Body() dto: RegisterShardDto): Promise<ShardRegisteredDto> {
    return this.reshard.registerShard(dto);
  }

  /** A spare that no job uses leaves the registry; its database is not touched. */
  @Delete('shards/:name')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'forgotten; its database is not touched' })
  @ApiErrors({
    400: true,
    404: 'SHARD_NOT_FOUND: no shard of this name is registered',
    409: 'RESHARD_CONFLICT: the shard owns an arc, or an unfinished reshard names it',
  })
  removeShard(@Param('name') name: string): Promise<void> {
    return this.reshard.removeShard(name);
  }

  @Post('reshard')
  @HttpCode(202)
  @ApiAcceptedResponse({ type: ReshardAcceptedDto, description: 'the job has started; follow it with GET /admin/reshard/{id}' })
  @ApiErrors({
    ...BODY_ERRORS,
    404: 'SHARD_NOT_FOUND: the shard to split or move is not on the ring',
    409: 'RESHARD_CONFLICT: another reshard is running, the ring is in transition, or the target is not a free spare',
  })
  startReshard(@Body() dto: ReshardRequestDto): Promise<ReshardAcceptedDto> {
    return this.reshard.start(dto);
  }

  @Get('reshard')
  @ApiOkResponse({ type: [ReshardJobDto], description: 'the recent reshards, newest first' })
  listReshards(): Promise<ReshardJobDto[]> {
    return this.reshard.list();
  }

  @Get('reshard/:id')
  @ApiOkResponse({ type: ReshardJobDto, description: 'the job and its progress' })
  @ApiErrors({ 400: 'the reshard id is not a UUID', 404: 'RESHARD_NOT_FOUND' })
  getReshard(@Param('id', new UuidPipe('reshard id')) id: string): Promise<ReshardJobDto> {
    return this.reshard.get(id);
  }

  @Post('reshard/:id/cancel')
  @HttpCode(202)
  @ApiAcceptedResponse({ type: ReshardJobDto, description: 'the cancel is under way: everything written meanwhile ends up on the source' })
  @ApiErrors({ 400: 'the reshard id is not a UUID', 404: 'RESHARD_NOT_FOUND', 409: 'RESHARD_CONFLICT: the job is past its cutover, or over' })
  cancelReshard(@Param('id', new UuidPipe('reshard id')) id: string): Promise<ReshardJobDto> {
    return this.reshard.cancel(id);
  }
}
