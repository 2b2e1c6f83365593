import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { AuthUser, CurrentUser } from '../auth/auth.decorators';
import { UserIdPipe } from '../auth/user-id.pipe';
import { DialogsService } from '../dialogs/dialogs.service';
import { MessageTextDto } from '../messages/message.dto';
import { MessagesService } from '../messages/messages.service';
import { LogContext, RequestLog } from '../observability/log-context';

/** The OTUS spec's list has no paging; it returns this many newest messages, oldest first. */
export const OTUS_LIST_LIMIT = 1000;

export class OtusMessageDto {
  @ApiProperty() from: string;
  @ApiProperty() to: string;
  @ApiProperty() text: string;
}

/**
 * The public OTUS social-network dialog API: a one-to-one dialog between the caller and
 * `user_id`, created by the first send, on top of the same services as the native API.
 */
@ApiTags('otus-compat')
@ApiBearerAuth()
@Controller('dialog/:userId')
export class OtusController {
  constructor(
    private readonly dialogs: DialogsService,
    private readonly messages: MessagesService,
  ) {}

  @Post('send')
  @HttpCode(200)
  @ApiOperation({ summary: 'send a message to user_id (200, empty body)' })
  async sendDirect(
    @CurrentUser() user: AuthUser,
    @Param('userId', UserIdPipe) otherId: string,
    @Body() dto: MessageTextDto,
    @RequestLog() log: LogContext,
  ): Promise<void> {
    const dialogId = await this.dialogs.direct(user.id, otherId);
    await this.messages.send(user, dialogId, dto.text, undefined, log);
  }

  @Get('list')
  @ApiOperation({ summary: `the dialog with user_id, oldest first (the newest ${OTUS_LIST_LIMIT}); [] when the two have no dialog yet (a list never creates one)` })
  @ApiOkResponse({ type: [OtusMessageDto] })
  async listDirect(
    @CurrentUser() user: AuthUser,
    @Param('userId', UserIdPipe) otherId: string,
    @RequestLog() log: LogContext,
  ): Promise<OtusMessageDto[]> {
    const dialogId = await this.dialogs.findDirect(user.id, otherId);
    if (!dialogId) return [];
    const rows = await this.messages.newest(dialogId, OTUS_LIST_LIMIT, undefined, log);
    return rows.reverse().map((m) => ({
      from: m.author_id,
      to: m.author_id === user.id ? otherId : user.id,
      text: m.text,
    }));
  }
}
