import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiGoneResponse, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { RouteSchema } from '@nestjs/platform-fastify';
import type { FastifyReply } from 'fastify';
import { AuthUser, CurrentUser } from '../auth/auth.decorators';
import { ApiErrors, ApiUserAuth, BODY_ERRORS } from '../common/api-responses';
import { ApiPageQuery, DEFAULT_PAGE, PageQuery, pageQueryPipe } from '../common/page-query.dto';
import { UuidPipe } from '../common/uuid.pipe';
import { DIALOG_NOT_FOUND } from '../dialogs/dialog.dto';
import { SendLimited } from '../limits/limits.decorators';
import { LogContext, RequestLog } from '../observability/log-context';
import {
  ApiMessageTextBody,
  ApiSendMessageBody,
  MESSAGE_RESPONSE,
  MessageDto,
  MessageGoneDto,
  MessagePageDto,
  MessageTextBody,
  messageTextPipe,
  SendMessageBody,
  sendMessagePipe,
} from './message.dto';
import { MessagesService } from './messages.service';

const NOT_AUTHOR = 'NOT_MESSAGE_AUTHOR: a participant may change only their own messages; or a viewer token';

@ApiTags('messages')
@ApiUserAuth()
@ApiErrors({ 400: true, 404: `${DIALOG_NOT_FOUND}; for a message route also MESSAGE_NOT_FOUND` })
@Controller('dialogs/:dialogId/messages')
export class MessagesController {
  constructor(private readonly messages: MessagesService) {}

  @Post()
  @SendLimited()
  @RouteSchema(MESSAGE_RESPONSE)
  @ApiSendMessageBody()
  @ApiCreatedResponse({ type: MessageDto, description: 'sent' })
  @ApiOkResponse({ type: MessageDto, description: 'a retry: the first message with this clientMessageId' })
  @ApiGoneResponse({
    type: MessageGoneDto,
    description: 'a retry whose first message has been deleted (MESSAGE_DELETED, naming it in messageId): nothing is sent',
  })
  @ApiErrors(BODY_ERRORS)
  async sendMessage(
    @CurrentUser() user: AuthUser,
    @Param('dialogId', new UuidPipe('dialog id')) dialogId: string,
    @Body(sendMessagePipe()) dto: SendMessageBody,
    @Res({ passthrough: true }) reply: FastifyReply,
    @RequestLog() log: LogContext,
  ): Promise<MessageDto> {
    const { message, created } = await this.messages.send(user, dialogId, dto.text, dto.clientMessageId, log);
    void reply.status(created ? 201 : 200);
    return message;
  }

  @Get()
  @ApiOkResponse({ type: MessagePageDto, description: 'a page of messages, newest first' })
  @ApiPageQuery()
  async listMessages(
    @CurrentUser() user: AuthUser,
    @Param('dialogId', new UuidPipe('dialog id')) dialogId: string,
    @Query(pageQueryPipe()) query: PageQuery,
    @Res({ passthrough: true }) reply: FastifyReply,
    @RequestLog() log: LogContext,
  ): Promise<Buffer> {
    // The body comes already serialised and encoded (see MessagesService.list): bytes with a
    // JSON content type go out as they are.
    const body = await this.messages.list(user, dialogId, query.limit ?? DEFAULT_PAGE, query.before, log);
    void reply.type('application/json; charset=utf-8');
    return body;
  }

  @Patch(':messageId')
  @RouteSchema(MESSAGE_RESPONSE)
  @ApiMessageTextBody()
  @ApiOkResponse({ type: MessageDto, description: 'the message as edited' })
  @ApiErrors({ ...BODY_ERRORS, 403: NOT_AUTHOR })
  editMessage(
    @CurrentUser() user: AuthUser,
    @Param('dialogId', new UuidPipe('dialog id')) dialogId: string,
    @Param('messageId', new UuidPipe('message id')) messageId: string,
    @Body(messageTextPipe()) dto: MessageTextBody,
    @RequestLog() log: LogContext,
  ): Promise<MessageDto> {
    return this.messages.edit(user, dialogId, messageId, dto.text, log);
  }

  @Delete(':messageId')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'deleted (a tombstone), or already deleted' })
  @ApiErrors({ 403: NOT_AUTHOR })
  deleteMessage(
    @CurrentUser() user: AuthUser,
    @Param('dialogId', new UuidPipe('dialog id')) dialogId: string,
    @Param('messageId', new UuidPipe('message id')) messageId: string,
    @RequestLog() log: LogContext,
  ): Promise<void> {
    return this.messages.delete(user, dialogId, messageId, log);
  }
}
