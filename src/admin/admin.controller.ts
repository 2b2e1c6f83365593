import { Controller, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { AdminOnly } from '../auth/auth.decorators';
import { UuidPipe } from '../common/uuid.pipe';
import { RingDto, RouteDto, ShardDto } from './admin.dto';
import { AdminService } from './admin.service';

@ApiTags('admin')
@ApiBearerAuth()
@AdminOnly()
@Controller('admin')
export class AdminController {
  constructor(private readonly admin: AdminService) {}

  @Get('ring')
  getRing(): RingDto {
    return this.admin.ring();
  }

  @Get('route/:dialogId')
  getRoute(@Param('dialogId', new UuidPipe('dialog id')) dialogId: string): RouteDto {
    return this.admin.route(dialogId);
  }

  @Get('shards')
  listShards(): Promise<ShardDto[]> {
    return this.admin.shards();
  }
}
