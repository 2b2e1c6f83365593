import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { AuthUser } from '../auth/auth.decorators';
import { decodeCursor, encodeCursor, isPgTimestamptz } from '../common/cursor';
import { DomainErrorCode, DomainException } from '../common/domain.exception';
import { isUuid } from '../common/uuid.pipe';
import { EventPublisher } from '../events/event-publisher';
import { RateLimits } from '../limits/rate-limits.service';
import { DialogAccessService } from './dialog-access.service';
import { CreateDialogDto, DialogDto, DialogPageDto, MAX_PARTICIPANTS } from './dialog.dto';
import { ReadStateService } from './read-state.service';
import { DialogRow, DialogsRepository } from './dialogs.repository';

export function toDialogDto(row: DialogRow): DialogDto {
  return {
    id: row.id,
    kind: row.kind,
    title: row.title,
    participantIds: row.participant_ids,
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
    lastActivityAt: row.last_activity_at.toISOString(),
  };
}

/** The key of the one-to-one dialog of two users, the same whichever of them asks. */
export function directKey(a: string, b: string): string {
  return JSON.stringify([a, b].sort());
}

/**
 * A group dialog's participants: the creator first, then the others named, each once. The
 * creator in the list and repeated ids count for nothing; what remains must be 1 to
 * MAX_PARTICIPANTS others, as a dialog of its creator alone is no conversation.
 */
export function groupParticipants(creator: string, named: string[]): string[] {
  const others = new Set(named);
  others.delete(creator);
  if (others.size === 0) {
    throw new DomainException(DomainErrorCode.InvalidInput, 'participantIds must name at least one user besides the caller, who is always a participant');
  }
  if (others.size > MAX_PARTICIPANTS) {
    throw new DomainException(DomainErrorCode.InvalidInput, `participantIds names ${others.size} users besides the caller; at most ${MAX_PARTICIPANTS}`);
  }
  return [creator, ...others];
}

function directParticipants(a: string, b: string): string[] {
  return [...new Set([a, b])];
}

@Injectable()
export class DialogsService {
  private readonly logger = new Logger('Dialogs');
  private readonly directIds = new LRUCache<string, string>({ max: 200_000 });

  constructor(
    private readonly dialogs: DialogsRepository,
    private readonly access: DialogAccessService,
    private readonly limits: RateLimits,
    private readonly events: EventPublisher,
    private readonly readState: ReadStateService,
  ) {}

  async create(user: AuthUser, dto: CreateDialogDto): Promise<DialogDto> {
    const participantIds = groupParticipants(user.id, dto.participantIds);
    this.limits.takeDialog(user.id);
    const id = await this.dialogs.create({
      id: randomUUID(),
      kind: 'group',
      title: dto.title ?? null,
      createdBy: user.id,
      participantIds,
    });
    this.access.remember(id, participantIds);
    const dialog = await this.get(user, id);
    this.announce(dialog);
    return dialog;
  }

  async get(user: AuthUser, id: string): Promise<DialogDto> {
    await this.access.assertParticipant(id, user.id);
    const row = await this.dialogs.findById(id);
    if (!row) throw new DomainException(DomainErrorCode.DialogNotFound, `dialog ${id} not found`);
    return toDialogDto(row);
  }

  /**
   * A page of the caller's dialogs, most recent activity first. With `summary`, each carries its
   * unread count and last message, read from the shards; without, the page is dialogdb's alone.
   */
  async list(user: AuthUser, limit: number, cursor?: string, summary = true): Promise<DialogPageDto> {
    const after = cursor ? decodeCursor('dialogs', cursor, [isPgTimestamptz, isUuid]) : undefined;
    const rows = await this.dialogs.listForUser(
      user.id,
      limit + 1,
      after && { activity: after[0], id: after[1] },
    );
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    const summaries = summary ? await this.readState.summaries(user.id, page.map((row) => row.id)) : null;
    return {
      items: page.map((row, i) => (summaries ? { ...toDialogDto(row), ...summaries[i] } : toDialogDto(row))),
      nextCursor: rows.length > limit ? encodeCursor('dialogs', [last.activity_key, last.id]) : null,
    };
  }

  /** The OTUS API's one-to-one dialog between the caller and another user, created on first use. */
  async direct(userId: string, otherId: string): Promise<string> {
    // One-to-one means two users, as a group dialog needs someone besides its creator.
    if (otherId === userId) throw new DomainException(DomainErrorCode.InvalidInput, "user_id is the caller's own id: a one-to-one dialog needs another user");
    const found = await this.findDirect(userId, otherId);
    if (found) return found;
    // Counted here, not on the route: only a send that opens a dialog creates one, and a
    // send to a new user id each time would otherwise create dialogs at the send limit.
    this.limits.takeDialog(userId);
    const key = directKey(userId, otherId);
    const participantIds = directParticipants(userId, otherId);
    const created = randomUUID();
    const id = await this.dialogs.create({ id: created, kind: 'direct', title: null, createdBy: userId, participantIds, directKey: key });
    this.access.remember(id, participantIds);
    this.directIds.set(key, id);
    // Only when this call made it: otherwise someone else's create announces it.
    if (id === created) {
      // The send it opens goes on whether or not this read succeeds.
      const row = await this.dialogs.findById(id).catch((err: Error) => void this.logger.warn(`dialog.created of ${id} not published: ${err.message}`));
      if (row) this.announce(toDialogDto(row));
    }
    return id;
  }

  /** Tells the participants' streams about a dialog just created. */
  private announce(dialog: DialogDto): void {
    this.events.publish('dialog.created', dialog.id, dialog.participantIds, { ...dialog, dialogId: dialog.id });
  }

  /**
   * The one-to-one dialog of two users if it exists. Reads use this, never direct(): a read
   * that created a dialog let anyone fill dialogdb (and other users' dialog lists) with GETs.
   * Misses are not cached, as the dialog may be created on another instance any moment.
   */
  async findDirect(userId: string, otherId: string): Promise<string | null> {
    const key = directKey(userId, otherId);
    const cached = this.directIds.get(key);
    if (cached) return cached;
    const id = await this.dialogs.findDirect(key);
    if (!id) return null;
    this.access.remember(id, directParticipants(userId, otherId));
    this.directIds.set(key, id);
    return id;
  }
}
