import { Injectable } from '@nestjs/common';
import { v7 as uuidv7 } from 'uuid';
import { AuthUser } from '../auth/auth.decorators';
import { decodeCursor, encodeCursor } from '../common/cursor';
import { DomainErrorCode, DomainException } from '../common/domain.exception';
import { isUuid } from '../common/uuid.pipe';
import { ActivityService } from '../dialogs/activity.service';
import { DialogAccessService } from '../dialogs/dialog-access.service';
import { RingService } from '../routing/ring.service';
import { MessageDto, MessagePageDto } from './message.dto';
import { MessageRow, MessagesRepository } from './messages.repository';

export function toMessageDto(row: MessageRow): MessageDto {
  return {
    id: row.id,
    dialogId: row.dialog_id,
    authorId: row.author_id,
    text: row.text,
    createdAt: row.created_at.toISOString(),
    editedAt: row.edited_at ? row.edited_at.toISOString() : null,
  };
}

/** A UUIDv7 carries its creation time in its first 48 bits; createdAt is read from the id. */
export function uuidv7Time(id: string): Date {
  return new Date(parseInt(id.slice(0, 8) + id.slice(9, 13), 16));
}

export interface SendResult {
  message: MessageDto;
  /** False when an earlier send with the same clientMessageId is returned instead. */
  created: boolean;
}

@Injectable()
export class MessagesService {
  constructor(
    private readonly messages: MessagesRepository,
    private readonly access: DialogAccessService,
    private readonly ring: RingService,
    private readonly activity: ActivityService,
  ) {}

  async send(user: AuthUser, dialogId: string, text: string, clientMessageId?: string): Promise<SendResult> {
    await this.access.assertParticipant(dialogId, user.id);
    const route = this.ring.route(dialogId);
    const id = uuidv7();
    const createdAt = uuidv7Time(id);
    const row = await this.messages.insert(route.write, {
      id,
      dialogId,
      ringHash: route.hash,
      authorId: user.id,
      text,
      clientMessageId: clientMessageId ?? null,
      createdAt,
    });
    if (row) {
      this.activity.touch(dialogId, createdAt);
      return { message: toMessageDto(row), created: true };
    }
    const first = await this.messages.findByClientId(route.write, dialogId, user.id, clientMessageId!);
    if (!first) throw new Error(`idempotent send of ${clientMessageId} found neither a conflict nor a row`);
    return { message: toMessageDto(first), created: false };
  }

  async list(user: AuthUser, dialogId: string, limit: number, before?: string): Promise<MessagePageDto> {
    await this.access.assertParticipant(dialogId, user.id);
    const rows = await this.newest(dialogId, limit + 1, before);
    const page = rows.slice(0, limit);
    return {
      items: page.map(toMessageDto),
      nextCursor: rows.length > limit ? encodeCursor('messages', [page[page.length - 1].id]) : null,
    };
  }

  /** Newest-first live messages of a dialog; the caller has checked access. */
  async newest(dialogId: string, limit: number, before?: string): Promise<MessageRow[]> {
    let beforeId: string | undefined;
    if (before) {
      [beforeId] = decodeCursor('messages', before, 1);
      if (!isUuid(beforeId)) throw new DomainException(DomainErrorCode.InvalidCursor, 'cursor is not valid for this listing');
    }
    const route = this.ring.route(dialogId);
    return this.messages.page(route.reads[0], dialogId, limit, beforeId);
  }

  async edit(user: AuthUser, dialogId: string, messageId: string, text: string): Promise<MessageDto> {
    await this.access.assertParticipant(dialogId, user.id);
    const shard = this.ring.route(dialogId).write;
    const row = await this.messages.edit(shard, dialogId, messageId, user.id, text);
    if (row) return toMessageDto(row);
    throw await this.whyNotWritable(shard, dialogId, messageId, user.id);
  }

  /** Deleting is idempotent: deleting one's own already deleted message succeeds again. */
  async delete(user: AuthUser, dialogId: string, messageId: string): Promise<void> {
    await this.access.assertParticipant(dialogId, user.id);
    const shard = this.ring.route(dialogId).write;
    if (await this.messages.softDelete(shard, dialogId, messageId, user.id)) return;
    const existing = await this.messages.findById(shard, dialogId, messageId);
    if (existing?.deleted_at && existing.author_id === user.id) return;
    throw await this.whyNotWritable(shard, dialogId, messageId, user.id);
  }

  private async whyNotWritable(shard: string, dialogId: string, messageId: string, userId: string): Promise<DomainException> {
    const existing = await this.messages.findById(shard, dialogId, messageId);
    if (existing && !existing.deleted_at && existing.author_id !== userId) {
      return new DomainException(DomainErrorCode.NotMessageAuthor, 'only the author may change a message');
    }
    return new DomainException(DomainErrorCode.MessageNotFound, `message ${messageId} not found`);
  }
}
