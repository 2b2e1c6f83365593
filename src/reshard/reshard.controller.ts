import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { AdminOnly } from '../auth/auth.decorators';
import { UuidPipe } from '../common/uuid.pipe';
import { RegisterShardDto, ReshardAcceptedDto, ReshardJobDto, ReshardRequestDto, ShardRegisteredDto } from './reshard.dto';
import { ReshardService } from './reshard.service';

@ApiTags('admin')
@ApiBearerAuth()
@AdminOnly()
@Controller('admin')
export class ReshardController {
  constructor(private readonly reshard: ReshardService) {}

  @Post('shards')
  registerShard(@Body() dto: RegisterShardDto): Promise<ShardRegisteredDto> {
    return this.reshard.registerShard(dto);
  }

  /** A spare that no job uses leaves the registry; its database is not touched. */
  @Delete('shards/:name')
  @HttpCode(204)
  removeShard(@Param('name') name: string): Promise<void> {
    return this.reshard.removeShard(name);
  }

  @Post('reshard')
  @HttpCode(202)
  startReshard(@Body() dto: ReshardRequestDto): Promise<ReshardAcceptedDto> {
    return this.reshard.start(dto);
  }

  @Get('reshard')
  listReshards(): Promise<ReshardJobDto[]> {
    return this.reshard.list();
  }

  @Get('reshard/:id')
  getReshard(@Param('id', new UuidPipe('reshard id')) id: string): Promise<ReshardJobDto> {
    return this.reshard.get(id);
  }

  @Post('reshard/:id/cancel')
  @HttpCode(202)
  cancelReshard(@Param('id', new UuidPipe('reshard id')) id: string): Promise<ReshardJobDto> {
    return this.reshard.cancel(id);
  }
}
