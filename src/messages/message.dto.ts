import { ApiBody, ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { SchemaPipe } from '../common/schema.pipe';

/** Long enough for any chat message, short enough that one row stays well inside a page. */
export const MAX_TEXT = 4096;

/** The one rule for a message's text, wherever a body carries one (send, edit, OTUS send). */
const TEXT_SCHEMA = { type: 'string', minLength: 1, maxLength: MAX_TEXT, pattern: '\\S' };
const TEXT_MESSAGES = { 'text:pattern': 'text must not be blank' };

export interface SendMessageBody {
  text: string;
  clientMessageId?: string;
}

export interface MessageTextBody {
  text: string;
}

// Each body's schema both validates it (SchemaPipe) and documents it (ApiBody).
const SEND_MESSAGE_SCHEMA = {
  type: 'object',
  properties: {
    text: TEXT_SCHEMA,
    clientMessageId: {
      type: 'string',
      minLength: 1,
      maxLength: 64,
      description:
        'client-chosen idempotency key: a retry with the same key returns the first message (200), ' +
        'or 410 MESSAGE_DELETED (with its messageId) once that message has been deleted',
    },
  },
  required: ['text'],
  additionalProperties: false,
};

const MESSAGE_TEXT_SCHEMA = {
  type: 'object',
  properties: { text: TEXT_SCHEMA },
  required: ['text'],
  additionalProperties: false,
};

export const sendMessagePipe = () => new SchemaPipe<SendMessageBody>(SEND_MESSAGE_SCHEMA, 'body', TEXT_MESSAGES);
export const ApiSendMessageBody = () => ApiBody({ schema: SEND_MESSAGE_SCHEMA });
/** An edit's body, and the OTUS send's. */
export const messageTextPipe = () => new SchemaPipe<MessageTextBody>(MESSAGE_TEXT_SCHEMA, 'body', TEXT_MESSAGES);
export const ApiMessageTextBody = () => ApiBody({ schema: MESSAGE_TEXT_SCHEMA });

export class MessageDto {
  @ApiProperty({ format: 'uuid', description: 'UUIDv7: id order is time order' }) id: string;
  @ApiProperty({ format: 'uuid' }) dialogId: string;
  @ApiProperty() authorId: string;
  @ApiProperty() text: string;
  @ApiProperty() createdAt: string;
  @ApiProperty({ nullable: true, type: String, description: 'null until the message is edited' }) editedAt: string | null;
}

/** The 410 of a send retried after its first message was deleted: the JSON error contract plus the id. */
export class MessageGoneDto {
  @ApiProperty({ example: 410 }) statusCode: number;
  @ApiProperty({ example: 'Gone' }) error: string;
  @ApiProperty() message: string;
  @ApiProperty({ example: 'MESSAGE_DELETED' }) code: string;
  @ApiProperty({ format: 'uuid', description: 'the deleted message' }) messageId: string;
}

export class MessagePageDto {
  @ApiProperty({ type: [MessageDto], description: 'newest first' }) items: MessageDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor: string | null;
}

// A message response as a JSON schema, so Fastify serialises it with a serializer compiled
// once (fast-json-stringify) instead of JSON.stringify on every reply. (A page is serialised
// by the shard: see MessagesRepository.pageJson.)
const MESSAGE_SCHEMA = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    dialogId: { type: 'string' },
    authorId: { type: 'string' },
    text: { type: 'string' },
    createdAt: { type: 'string' },
    editedAt: { type: ['string', 'null'] },
  },
  required: ['id', 'dialogId', 'authorId', 'text', 'createdAt', 'editedAt'],
};
export const MESSAGE_RESPONSE = { response: { 200: MESSAGE_SCHEMA, 201: MESSAGE_SCHEMA } };
