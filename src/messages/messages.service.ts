import { Injectable } from '@nestjs/common';
import { v7 as uuidv7 } from 'uuid';
import { AuthUser } from '../auth/auth.decorators';
import { decodeCursor, encodeCursor } from '../common/cursor';
import { DomainErrorCode, DomainException } from '../common/domain.exception';
import { isUuid } from '../common/uuid.pipe';
import { ActivityService } from '../dialogs/activity.service';
import { DialogAccessService } from '../dialogs/dialog-access.service';
import { EventPublisher } from '../events/event-publisher';
import { RingService } from '../routing/ring.service';
import { Route } from '../routing/router';
import { onRoute } from '../routing/on-route';
import { LogContext } from '../observability/log-context';
import { MetricsService } from '../observability/metrics.service';
import { MessageDto, MessagePageDto } from './message.dto';
import { MessageWriter } from './message-writer';
import { ShardReader } from './shard-reader';
import { ReadCoalescer } from './read-coalescer';
import { MessagesRepository } from './messages.repository';
import { mergeWinner, PageRow } from '../shards/message-schema';
import { uuidv7Time } from '../shards/uuidv7';

// created_at is set from the id on insert and copied with it, so the id is the one source:
// a page need not read the column, nor the driver parse a timestamp per row.
export function toMessageDto(row: PageRow): MessageDto {
  return {
    id: row.id,
    dialogId: row.dialog_id,
    authorId: row.author_id,
    text: row.text,
    createdAt: uuidv7Time(row.id).toISOString(),
    editedAt: row.edited_at ? row.edited_at.toISOString() : null,
  };
}

/**
 * The answer to a send whose clientMessageId was already used: the first message. Once that
 * is deleted its tombstone (empty text) read like a live empty message, so the retry is told
 * it is gone (410), with the id, and nothing is sent again.
 */
function retried(first: PageRow): SendResult {
  if (first.deleted_at) {
    throw new DomainException(
      DomainErrorCode.MessageDeleted,
      `message ${first.id}, the first send with this clientMessageId, was deleted; send with a new clientMessageId to post again`,
      { messageId: first.id },
    );
  }
  return { message: toMessageDto(first), created: false };
}

/** `limit` items of newest-first rows (one more, when there is one, says a next page follows). */
export function pageOf(rows: PageRow[], limit: number): MessagePageDto {
  const page = rows.slice(0, limit);
  return {
    items: page.map(toMessageDto),
    nextCursor: rows.length > limit ? encodeCursor('messages', [page[page.length - 1].id]) : null,
  };
}

/** The message id a page's `before` cursor points below, if one was given. */
function beforeIdOf(before?: string): string | undefined {
  return before ? decodeCursor('messages', before, [isUuid])[0] : undefined;
}

export interface SendResult {
  message: MessageDto;
  /** False when an earlier send with the same clientMessageId is returned instead. */
  created: boolean;
}

@Injectable()
export class MessagesService {
  private readonly pages = new ReadCoalescer<Buffer>();

  constructor(
    private readonly messages: MessagesRepository,
    private readonly writer: MessageWriter,
    private readonly reader: ShardReader,
    private readonly access: DialogAccessService,
    private readonly ring: RingService,
    private readonly activity: ActivityService,
    private readonly metrics: MetricsService,
    private readonly events: EventPublisher,
  ) {}

  async send(user: AuthUser, dialogId: string, text: string, clientMessageId?: string, log: LogContext = {}): Promise<SendResult> {
    const participants = await this.access.assertParticipant(dialogId, user.id);
    // One id for every attempt: a write retried on a new route after a refusal is the same message.
    const id = uuidv7();
    const createdAt = uuidv7Time(id);
    return this.onRoute(dialogId, async (route) => {
      if (clientMessageId) {
        // During a reshard the first send may sit on the other shard of the pair, and the
        // write shard may hold a later copy of it (an edit or delete pulls it over first).
        for (const other of route.reads.slice(1)) {
          const first = await this.reader.byClientId(other, { dialogId, hash: route.hash, authorId: user.id, clientMessageId });
          if (!first) continue;
          const here = await this.reader.byClientId(route.write, { dialogId, hash: route.hash, authorId: user.id, clientMessageId });
          return retried(here ? mergeWinner(first, here) : first);
        }
      }
      const row = await this.writer.insert(route.write, {
        id,
        dialogId,
        ringHash: route.hash,
        authorId: user.id,
        text,
        clientMessageId: clientMessageId ?? null,
        createdAt,
      });
      if (row) {
        this.pages.wrote(dialogId);
        this.activity.touch(dialogId, createdAt);
        const message = toMessageDto(row);
        // The row has committed; the event is queued and written after (EventPublisher).
        this.events.publish('message.created', dialogId, participants, message);
        return { message, created: true };
      }
      const first = await this.reader.byClientId(route.write, { dialogId, hash: route.hash, authorId: user.id, clientMessageId: clientMessageId! });
      if (!first) throw new Error(`idempotent send of ${clientMessageId} found neither a conflict nor a row`);
      return retried(first);
    }, log);
  }

  /**
   * A page of the dialog's messages as the response body (a MessagePageDto in JSON). Outside a
   * reshard the shard builds it; a page merged from two shards is built here.
   */
  async list(user: AuthUser, dialogId: string, limit: number, before?: string, log: LogContext = {}): Promise<Buffer> {
    await this.access.assertParticipant(dialogId, user.id);
    const beforeId = beforeIdOf(before);
    this.metrics.pageReads.inc();
    // A page is the same for every participant: identical reads in flight share one query.
    log.dialogId = dialogId;
    log.shard = this.ring.route(dialogId).write;
    return this.pages.read(dialogId, `${limit} ${beforeId ?? ''}`, () => {
      this.metrics.pageQueries.inc();
      return this.onRoute(
        dialogId,
        async (route) => {
          // Encoded once: every reader sharing this page gets the same bytes, not a string
          // each response would encode again on its way into the socket.
          if (route.reads.length > 1) return Buffer.from(JSON.stringify(pageOf(await this.mergedPage(route, dialogId, limit + 1, beforeId), limit)));
          const page = await this.reader.page(route.write, { dialogId, hash: route.hash, limit, before: beforeId });
          const cursor = page.more && page.last ? JSON.stringify(encodeCursor('messages', [page.last])) : 'null';
          return Buffer.from(`{"items":${page.items},"nextCursor":${cursor}}`);
        },
        log,
      );
    });
  }

  /** Newest-first live messages of a dialog; the caller has checked access. */
  async newest(dialogId: string, limit: number, before?: string, log: LogContext = {}): Promise<PageRow[]> {
    const beforeId = beforeIdOf(before);
    return this.onRoute(
      dialogId,
      (route) =>
        route.reads.length === 1
          ? this.messages.page(route.write, dialogId, route.hash, limit, beforeId)
          : this.mergedPage(route, dialogId, limit, beforeId),
      log,
    );
  }

  /**
   * A page over the shards of a moving arc: each shard's newest `limit` rows (tombstones
   * included), merged by id by the merge rule (a deletion is final, else the higher revision),
   * then the live ones. Any row of the true page is in its own shard's top `limit`, so one
   * round usually suffices; more rounds only when tombstones thinned the page.
   */
  private async mergedPage(route: Route, dialogId: string, limit: number, before?: string): Promise<PageRow[]> {
    const out: PageRow[] = [];
    let cursor = before;
    for (;;) {
      const batches = await Promise.all(route.reads.map((s) => this.messages.pageWithTombstones(s, dialogId, route.hash, limit, cursor)));
      const byId = new Map<string, PageRow>();
      for (const rows of batches) {
        for (const row of rows) {
          const kept = byId.get(row.id);
          byId.set(row.id, kept ? mergeWinner(kept, row) : row);
        }
      }
      const merged = [...byId.values()].sort((a, b) => (a.id < b.id ? 1 : -1)).slice(0, limit);
      for (const row of merged) {
        if (!row.deleted_at) out.push(row);
        if (out.length === limit) return out;
      }
      if (merged.length === 0 || batches.every((rows) => rows.length < limit)) return out;
      cursor = merged[merged.length - 1].id;
    }
  }

  async edit(user: AuthUser, dialogId: string, messageId: string, text: string, log: LogContext = {}): Promise<MessageDto> {
    const participants = await this.access.assertParticipant(dialogId, user.id);
    return this.onRoute(dialogId, async (route) => {
      await this.pull(route, dialogId, messageId);
      const row = await this.messages.edit(route.write, dialogId, route.hash, messageId, user.id, text);
      if (row) {
        this.pages.wrote(dialogId);
        const message = toMessageDto(row);
        this.events.publish('message.edited', dialogId, participants, message);
        return message;
      }
      throw await this.whyNotWritable(route, dialogId, messageId, user.id);
    }, log);
  }

  /** Deleting is idempotent: deleting one's own already deleted message succeeds again. */
  async delete(user: AuthUser, dialogId: string, messageId: string, log: LogContext = {}): Promise<void> {
    const participants = await this.access.assertParticipant(dialogId, user.id);
    return this.onRoute(dialogId, async (route) => {
      await this.pull(route, dialogId, messageId);
      if (await this.messages.softDelete(route.write, dialogId, route.hash, messageId, user.id)) {
        this.pages.wrote(dialogId);
        // Only the delete that made the tombstone: deleting again changes nothing and says nothing.
        this.events.publish('message.deleted', dialogId, participants, { id: messageId, dialogId });
        return;
      }
      const existing = await this.messages.findById(route.write, dialogId, route.hash, messageId);
      if (existing?.deleted_at && existing.author_id === user.id) return;
      throw await this.whyNotWritable(route, dialogId, messageId, user.id);
    }, log);
  }

  private onRoute<T>(dialogId: string, step: (route: Route) => Promise<T>, log: LogContext): Promise<T> {
    return onRoute(this.ring, this.metrics, dialogId, step, log);
  }

  /**
   * During a reshard the other shard of the pair may hold a copy of the message that the
   * write shard lacks, or a newer one (a cancel sends writes back to a source whose copy is
   * older): merge it in first, so the edit or delete applies to the latest copy and gets the
   * next revision.
   */
  private async pull(route: Route, dialogId: string, messageId: string): Promise<void> {
    for (const other of route.reads.slice(1)) {
      const row = await this.messages.findById(other, dialogId, route.hash, messageId);
      if (row) await this.messages.merge(route.write, [row]);
    }
  }

  private async whyNotWritable(route: Route, dialogId: string, messageId: string, userId: string): Promise<DomainException> {
    const existing = await this.messages.findById(route.write, dialogId, route.hash, messageId);
    if (existing && !existing.deleted_at && existing.author_id !== userId) {
      return new DomainException(DomainErrorCode.NotMessageAuthor, 'only the author may change a message');
    }
    return new DomainException(DomainErrorCode.MessageNotFound, `message ${messageId} not found`);
  }
}
