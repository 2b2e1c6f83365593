import { Inject, Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { DomainErrorCode, DomainException } from '../common/domain.exception';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { DialogsRepository } from './dialogs.repository';

// Heap an entry holds, measured on Node 20 (a UUID key, the LRU's bookkeeping, a Set, and
// each member's string and Set slot), rounded up so the estimate stays above the real cost.
const ENTRY_BYTES = 640;
const MEMBER_BYTES = 64;

/**
 * What one cached dialog costs, in bytes: an upper bound of its heap, so the sum of these
 * bounds the cache. Strings count two bytes a character, the most V8 stores.
 */
export function entryBytes(dialogId: string, members: ReadonlySet<string>): number {
  let bytes = ENTRY_BYTES + 2 * dialogId.length;
  for (const member of members) bytes += MEMBER_BYTES + 2 * member.length;
  return bytes;
}

/**
 * "Is this user a participant of this dialog?" on every message request, without a
 * dialogdb round trip each time. Caching is safe because a dialog's participants are fixed
 * when it is created and dialogs are never deleted; an API that changes membership must
 * evict here (and on every instance) first.
 *
 * Bounded by memory, not by entries: a dialog of a hundred members costs ten times what a
 * one-to-one dialog does, so a count that is safe for one kind is not for the other.
 */
@Injectable()
export class DialogAccessService {
  private readonly participants: LRUCache<string, ReadonlySet<string>>;

  constructor(
    private readonly dialogs: DialogsRepository,
    @Inject(APP_CONFIG) config: Pick<AppConfig, 'membershipCacheBytes'>,
  ) {
    this.participants = new LRUCache({ maxSize: config.membershipCacheBytes, sizeCalculation: (members, dialogId) => entryBytes(dialogId, members) });
  }

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

  /** The cache's estimated heap, in bytes: never above MEMBERSHIP_CACHE_MB. */
  get cachedBytes(): number {
    return this.participants.calculatedSize;
  }

  get cachedDialogs(): number {
    return this.participants.size;
  }
}

function notFound(dialogId: string): DomainException {
  return new DomainException(DomainErrorCode.DialogNotFound, `dialog ${dialogId} not found`);
}
