import { Controller, Get, Param } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { AdminOnly } from '../auth/auth.decorators';
import { ApiAdminAuth, ApiErrors } from '../common/api-responses';
import { UuidPipe } from '../common/uuid.pipe';
import { RingDto, RouteDto, ShardDto } from './admin.dto';
import { AdminService } from './admin.service';

@ApiTags('admin')
@ApiAdminAuth()
@AdminOnly()
@Controller('admin')
export class AdminController {
  constructor(private readonly admin: AdminService) {}

  @Get('ring')
  @ApiOkResponse({ type: RingDto, description: 'the ring this instance routes by' })
  getRing(): RingDto {
    return this.admin.ring();
  }

  @Get('route/:dialogId')
  @ApiOkResponse({ type: RouteDto, description: 'where a dialog lives, whether or not it exists' })
  @ApiErrors({ 400: 'the dialog id is not a UUID' })
  getRoute(@Param('dialogId', new UuidPipe('dialog id')) dialogId: string): RouteDto {
    return this.admin.route(dialogId);
  }

  @Get('shards')
  @ApiOkResponse({ type: [ShardDto], description: 'the shards in ring order, spares last' })
  listShards(): Promise<ShardDto[]> {
    return this.admin.shards();
  }
}
