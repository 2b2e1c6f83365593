import { Body, Controller, Get, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiNotFoundResponse, ApiTags } from '@nestjs/swagger';
import { AuthUser, CurrentUser } from '../auth/auth.decorators';
import { UuidPipe } from '../common/uuid.pipe';
import { ApiPageQuery, DEFAULT_PAGE, PageQuery, pageQueryPipe } from '../common/page-query.dto';
import { ApiDialogLimit } from '../limits/limits.decorators';
import { CreateDialogDto, DIALOG_NOT_FOUND, DialogDto, DialogPageDto } from './dialog.dto';
import { DialogsService } from './dialogs.service';

@ApiTags('dialogs')
@ApiBearerAuth()
@Controller('dialogs')
export class DialogsController {
  constructor(private readonly dialogs: DialogsService) {}

  @Post()
  @ApiDialogLimit()
  createDialog(@CurrentUser() user: AuthUser, @Body() dto: CreateDialogDto): Promise<DialogDto> {
    return this.dialogs.create(user, dto);
  }

  @Get()
  @ApiPageQuery()
  listDialogs(@CurrentUser() user: AuthUser, @Query(pageQueryPipe()) query: PageQuery): Promise<DialogPageDto> {
    return this.dialogs.list(user, query.limit ?? DEFAULT_PAGE, query.before);
  }

  @Get(':id')
  @ApiNotFoundResponse({ description: DIALOG_NOT_FOUND })
  getDialog(@CurrentUser() user: AuthUser, @Param('id', new UuidPipe('dialog id')) id: string): Promise<DialogDto> {
    return this.dialogs.get(user, id);
  }
}
