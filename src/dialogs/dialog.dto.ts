import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional, ApiQuery } from '@nestjs/swagger';
import { IsArray, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { ApiPageQuery, PAGE_QUERY_PROPERTIES, PageQuery } from '../common/page-query.dto';
import { SchemaPipe } from '../common/schema.pipe';
import { UUID_PATTERN } from '../common/uuid.pipe';
import { PREVIEW_CHARS, UNREAD_CAP } from './dialog-summary';

export const MAX_PARTICIPANTS = 100;
export const MAX_TITLE = 200;
// A user id is 1..64 characters with no control characters (the OTUS spec's UserId).
const USER_ID = /^[^\u0000-\u001f\u007f]{1,64}$/;

export class CreateDialogDto {
  @ApiProperty({ type: [String], description: `other participants' user ids, 1 to ${MAX_PARTICIPANTS}` })
  // How many: 1 to MAX_PARTICIPANTS users besides the caller, counted by DialogsService once
  // the caller and repeats are left out (only it knows who the caller is).
  @IsArray({ message: 'participantIds must be an array of user ids' })
  @IsString({ each: true, message: 'participantIds must hold user ids, which are strings' })
  @Matches(USER_ID, { each: true, message: 'each participant id must be 1 to 64 characters with no control characters' })
  participantIds: string[];

  @ApiPropertyOptional({ maxLength: MAX_TITLE })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_TITLE)
  title?: string;
}

export class DialogDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: ['group', 'direct'] }) kind: 'group' | 'direct';
  @ApiProperty({ nullable: true, type: String }) title: string | null;
  @ApiProperty({ type: [String] }) participantIds: string[];
  @ApiProperty() createdBy: string;
  @ApiProperty() createdAt: string;
  @ApiProperty({ description: 'may lag real activity by about a second' }) lastActivityAt: string;
}

export class LastMessageDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() authorId: string;
  @ApiProperty({ description: `a preview: the message's first ${PREVIEW_CHARS} characters (Unicode code points)` }) text: string;
  @ApiProperty() createdAt: string;
}

export class DialogListItemDto extends DialogDto {
  @ApiPropertyOptional({
    type: Number,
    nullable: true,
    minimum: 0,
    maximum: UNREAD_CAP,
    description:
      `live messages from others after the caller's read mark (all of them without a mark); counting stops at ${UNREAD_CAP}, which means ${UNREAD_CAP} or more. ` +
      "Null, as is lastMessage, while the dialog's shard cannot be reached. Absent, as is lastMessage, with summary=false",
  })
  unreadCount?: number | null;

  @ApiPropertyOptional({ type: LastMessageDto, nullable: true, description: 'the newest live message, or null when there is none. Absent with summary=false' })
  lastMessage?: LastMessageDto | null;
}

export class DialogPageDto {
  @ApiProperty({ type: [DialogListItemDto] }) items: DialogListItemDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor: string | null;
}

export interface DialogListQuery extends PageQuery {
  /** Each item's unreadCount and lastMessage: true unless the client says `false`. */
  summary?: boolean;
}

const SUMMARY = {
  type: 'boolean',
  default: true,
  description:
    'false leaves unreadCount and lastMessage out of every item, and the list reads no shard at all: for a client that needs only the dialogs ' +
    '(a picker, a share sheet). Exactly `true` or `false`',
};

/** GET /dialogs's query: a page's `limit` and `before`, and `summary`, validated by a compiled schema. */
export const dialogListQueryPipe = () =>
  new SchemaPipe<DialogListQuery>({ type: 'object', properties: { ...PAGE_QUERY_PROPERTIES, summary: SUMMARY }, additionalProperties: false }, 'query', {
    'summary:type': 'summary must be true or false',
  });

/** The same parameters in the API document. */
export const ApiDialogListQuery = () => applyDecorators(ApiPageQuery(), ApiQuery({ name: 'summary', required: false, schema: SUMMARY }));

/** What every dialog route answers to anyone not in the dialog, so no one learns which ids exist. */
export const DIALOG_NOT_FOUND = 'DIALOG_NOT_FOUND: no such dialog, or the caller is not one of its participants (the same answer for both)';

/** The read mark in force, as POST /dialogs/:id/read answers it and the `dialog.read` event carries it. */
export class ReadMarkDto {
  @ApiProperty({ format: 'uuid' }) dialogId: string;
  @ApiProperty({ description: 'whose mark it is' }) userId: string;
  @ApiProperty({ format: 'uuid', description: 'the newest message this user has read' }) messageId: string;
}

export interface ReadMarkBody {
  messageId: string;
}

// The schema both validates the body (SchemaPipe) and documents it (ApiBody).
export const READ_MARK_SCHEMA = {
  type: 'object',
  properties: {
    messageId: {
      type: 'string',
      pattern: UUID_PATTERN,
      description: 'a message of this dialog: the mark moves to it, or stays when it is already at a newer one',
    },
  },
  required: ['messageId'],
  additionalProperties: false,
};

export const readMarkPipe = () => new SchemaPipe<ReadMarkBody>(READ_MARK_SCHEMA, 'body', { 'messageId:pattern': 'messageId must be a UUID' });
