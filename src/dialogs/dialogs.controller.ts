import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { AuthUser, CurrentUser } from '../auth/auth.decorators';
import { ApiErrors, ApiUserAuth, BODY_ERRORS } from '../common/api-responses';
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
@ApiUserAuth()
@Controller('dialogs')
export class DialogsController {
  constructor(
    private readonly dialogs: DialogsService,
    private readonly readState: ReadStateService,
  ) {}

  @Post()
  @ApiDialogLimit()
  @ApiCreatedResponse({ type: DialogDto, description: 'the dialog; the caller is one of its participants' })
  @ApiErrors(BODY_ERRORS)
  createDialog(@CurrentUser() user: AuthUser, @Body() dto: CreateDialogDto): Promise<DialogDto> {
    return this.dialogs.create(user, dto);
  }

  @Get()
  @ApiDialogListQuery()
  @ApiOkResponse({ type: DialogPageDto, description: "the caller's dialogs, most recent activity first" })
  @ApiErrors({ 400: true })
  listDialogs(@CurrentUser() user: AuthUser, @Query(dialogListQueryPipe()) query: DialogListQuery): Promise<DialogPageDto> {
    return this.dialogs.list(user, query.limit ?? DEFAULT_PAGE, query.before, query.summary ?? true);
  }

  @Get(':id')
  @ApiOkResponse({ type: DialogDto, description: 'the dialog with its participants' })
  @ApiErrors({ 400: 'the dialog id is not a UUID', 404: DIALOG_NOT_FOUND })
  getDialog(@CurrentUser() user: AuthUser, @Param('id', new UuidPipe('dialog id')) id: string): Promise<DialogDto> {
    return this.dialogs.get(user, id);
  }

  @Post(':id/read')
  @HttpCode(200)
  @ApiBody({ schema: READ_MARK_SCHEMA })
  @ApiOkResponse({ type: ReadMarkDto, description: 'the mark in force: the one given, or a newer one already set (then nothing changed)' })
  @ApiErrors({ ...BODY_ERRORS, 404: `${DIALOG_NOT_FOUND}; MESSAGE_NOT_FOUND when the message is not in this dialog` })
  markRead(
    @CurrentUser() user: AuthUser,
    @Param('id', new UuidPipe('dialog id')) id: string,
    @Body(readMarkPipe()) body: ReadMarkBody,
    @RequestLog() log: LogContext,
  ): Promise<ReadMarkDto> {
    return this.readState.markRead(user, id, body.messageId.toLowerCase(), log);
  }
}
