import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { DomainErrorCode, DomainException } from '../common/domain.exception';
import { DialogsRepository } from './dialogs.repository';

/**
 * "Is this user a participant of this dialog?" on every message request, without a
 * dialogdb round trip each time. Caching is safe because a dialog's participants are fixed
 * when it is created and dialogs are never deleted; an API that changes membership must
 * evict here (and on every instance) first.
 */
@Injectable()
export class DialogAccessService {
  private readonly participants = new LRUCache<string, ReadonlySet<string>>({ max: 200_000 });

  constructor(private readonly dialogs: DialogsRepository) {}

  async participantsOf(dialogId: string): Promise<ReadonlySet<string>> {
    const cached = this.participants.get(dialogId);
    if (cached) return cached;
    const ids = await this.dialogs.participants(dialogId);
    if (ids.length === 0) throw notFound(dialogId);
    const set = new Set(ids);
    this.participants.set(dialogId, set);
    return set;
  }

  /**
   * The same 404 for a dialog that does not exist and for one the user is not part of: a 403
   * for the second told anyone which dialog ids exist.
   */
  async assertParticipant(dialogId: string, userId: string): Promise<ReadonlySet<string>> {
    const members = await this.participantsOf(dialogId);
    if (!members.has(userId)) throw notFound(dialogId);
    return members;
  }

  remember(dialogId: string, participantIds: string[]): void {
    this.participants.set(dialogId, new Set(participantIds));
  }
}

function notFound(dialogId: string): DomainException {
  return new DomainException(DomainErrorCode.DialogNotFound, `dialog ${dialogId} not found`);
}
