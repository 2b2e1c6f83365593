import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { AuthUser, CurrentUser } from '../auth/auth.decorators';
import { UuidPipe } from '../common/uuid.pipe';
import { DEFAULT_PAGE } from '../common/page-query.dto';
import { ApiDialogLimit } from '../limits/limits.decorators';
import { LogContext, RequestLog } from '../observability/log-context';
import {
  ApiDialogListQuery,
  CreateDialogDto,
  DIALOG_NOT_FOUND,
  DialogDto,
  DialogListQuery,
  dialogListQueryPipe,
  DialogPageDto,
  READ_MARK_SCHEMA,
  ReadMarkBody,
  ReadMarkDto,
  readMarkPipe,
} from './dialog.dto';
import { DialogsService } from './dialogs.service';
import { ReadStateService } from './read-state.service';

@ApiTags('dialogs')
@ApiBearerAuth()
@Controller('dialogs')
export class DialogsController {
  constructor(
    private readonly dialogs: DialogsService,
    private readonly readState: ReadStateService,
  ) {}

  @Post()
  @ApiDialogLimit()
  createDialog(@CurrentUser() user: AuthUser, @Body() dto: CreateDialogDto): Promise<DialogDto> {
    return this.dialogs.create(user, dto);
  }

  @Get()
  @ApiDialogListQuery()
  @ApiOkResponse({ type: DialogPageDto })
  listDialogs(@CurrentUser() user: AuthUser, @Query(dialogListQueryPipe()) query: DialogListQuery): Promise<DialogPageDto> {
    return this.dialogs.list(user, query.limit ?? DEFAULT_PAGE, query.before, query.summary ?? true);
  }

  @Get(':id')
  @ApiNotFoundResponse({ description: DIALOG_NOT_FOUND })
  getDialog(@CurrentUser() user: AuthUser, @Param('id', new UuidPipe('dialog id')) id: string): Promise<DialogDto> {
    return this.dialogs.get(user, id);
  }

  @Post(':id/read')
  @HttpCode(200)
  @ApiBody({ schema: READ_MARK_SCHEMA })
  @ApiOkResponse({ type: ReadMarkDto, description: 'the mark in force: the one given, or a newer one already set (then nothing changed)' })
  @ApiNotFoundResponse({ description: `${DIALOG_NOT_FOUND}; MESSAGE_NOT_FOUND when the message is not in this dialog` })
  markRead(
    @CurrentUser() user: AuthUser,
    @Param('id', new UuidPipe('dialog id')) id: string,
    @Body(readMarkPipe()) body: ReadMarkBody,
    @RequestLog() log: LogContext,
  ): Promise<ReadMarkDto> {
    return this.readState.markRead(user, id, body.messageId.toLowerCase(), log);
  }
}
