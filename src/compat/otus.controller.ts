import { Body, Controller, Get, HttpCode, Param, Post, UseFilters } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiInternalServerErrorResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProperty,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { AuthUser, CurrentUser } from '../auth/auth.decorators';
import { UserIdPipe } from '../auth/user-id.pipe';
import { RETRY_AFTER_HEADER } from '../common/retry-after';
import { DialogsService } from '../dialogs/dialogs.service';
import { SendLimited } from '../limits/limits.decorators';
import { ApiMessageTextBody, MessageTextBody, messageTextPipe } from '../messages/message.dto';
import { MessagesService } from '../messages/messages.service';
import { LogContext, RequestLog } from '../observability/log-context';
import { OtusExceptionFilter } from './otus-exception.filter';

/** The OTUS spec's list has no paging; it returns this many newest messages, oldest first. */
export const OTUS_LIST_LIMIT = 1000;

export class OtusMessageDto {
  @ApiProperty({ description: 'the author' }) from: string;
  @ApiProperty({ description: 'the other user of the dialog' }) to: string;
  @ApiProperty() text: string;
}

/** The spec's 5xx body; the service adds its usual `statusCode`, `error` and `reason` (its own error code). */
export class OtusErrorDto {
  @ApiProperty({ description: 'what went wrong' }) message: string;
  @ApiProperty({ description: 'the X-Request-Id of this request, to find it in the logs' }) request_id: string;
  @ApiProperty({ type: 'integer', description: 'the HTTP status' }) code: number;
}

// What the spec's paths share: user_id, and its 400, 401, 500 and 503.
const userIdParam = ApiParam({
  name: 'user_id',
  description: 'the other user (the spec\'s UserId: 1 to 64 characters)',
  schema: { type: 'string', minLength: 1, maxLength: 64 },
});
const spec400 = ApiBadRequestResponse({ description: 'invalid data (user_id, body)' });
const spec401 = ApiUnauthorizedResponse({ description: 'no valid bearer token' });
const spec500 = ApiInternalServerErrorResponse({ description: 'server error', type: OtusErrorDto });
const spec503 = ApiServiceUnavailableResponse({
  description: 'a database this dialog needs is unavailable; retry after Retry-After seconds',
  type: OtusErrorDto,
  headers: RETRY_AFTER_HEADER,
});

/**
 * The public OTUS social-network dialog API: a one-to-one dialog between the caller and
 * `user_id`, created by the first send, on top of the same services as the native API.
 */
@ApiTags('otus-compat')
@ApiBearerAuth()
@UseFilters(OtusExceptionFilter)
@Controller('dialog/:user_id')
export class OtusController {
  constructor(
    private readonly dialogs: DialogsService,
    private readonly messages: MessagesService,
  ) {}

  @Post('send')
  @HttpCode(200)
  // The spec answers a body it cannot take with 400; it has no 415.
  @RouteConfig({ notJsonStatus: 400 })
  @SendLimited({ opensDialog: true, errorBody: false })
  @ApiOperation({ summary: 'send a message to user_id (200, empty body)' })
  @userIdParam
  @ApiMessageTextBody()
  @ApiOkResponse({ description: 'sent' })
  @spec400
  @spec401
  @spec500
  @spec503
  async sendDirect(
    @CurrentUser() user: AuthUser,
    @Param('user_id', UserIdPipe) otherId: string,
    @Body(messageTextPipe()) dto: MessageTextBody,
    @RequestLog() log: LogContext,
  ): Promise<void> {
    const dialogId = await this.dialogs.direct(user.id, otherId);
    await this.messages.send(user, dialogId, dto.text, undefined, log);
  }

  @Get('list')
  @ApiOperation({ summary: `the dialog with user_id, oldest first (the newest ${OTUS_LIST_LIMIT}); [] when the two have no dialog yet (a list never creates one)` })
  @userIdParam
  @ApiOkResponse({ type: [OtusMessageDto], description: 'the dialog between the two users' })
  @spec400
  @spec401
  @spec500
  @spec503
  async listDirect(
    @CurrentUser() user: AuthUser,
    @Param('user_id', UserIdPipe) otherId: string,
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
