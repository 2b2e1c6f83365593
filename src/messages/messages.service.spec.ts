import { AuthUser } from '../auth/auth.decorators';
import { DomainErrorCode, DomainException } from '../common/domain.exception';
import { ActivityService } from '../dialogs/activity.service';
import { EventPublisher } from '../events/event-publisher';
import { DialogAccessService } from '../dialogs/dialog-access.service';
import { MetricsService } from '../observability/metrics.service';
import { RingService } from '../routing/ring.service';
import { MessagesRepository } from './messages.repository';
import { MessageRow } from '../shards/message-schema';
import { MessagesService } from './messages.service';
import { MessageWriter } from './message-writer';
import { ShardReader } from './shard-reader';

/**
 * A send retried with a used clientMessageId while a reshard moves its dialog: the first
 * message may sit on the source (read) shard while the target (write) shard holds a later
 * copy, because an edit or a delete pulls the row over and changes it there.
 */
describe('MessagesService.send retried during a reshard', () => {
  const dialogId = '0190a0e4-8c3e-7000-8000-000000000001';
  const alice: AuthUser = { id: 'alice', admin: false, viewer: false };
  const row = (over: Partial<MessageRow>): MessageRow => ({
    id: '0190a0e4-8c3e-7000-8000-0000000000aa',
    dialog_id: dialogId,
    author_id: 'alice',
    text: 'first',
    created_at: new Date(),
    edited_at: null,
    deleted_at: null,
    revision: 0,
    ...over,
  });

  function service(copies: Record<string, MessageRow | null>): { sut: MessagesService; inserts: jest.Mock } {
    const inserts = jest.fn(async () => null);
    const repository = {} as MessagesRepository;
    const reader = { byClientId: async (shard: string) => copies[shard] ?? null } as unknown as ShardReader;
    const access = { assertParticipant: async () => new Set(['alice']) } as unknown as DialogAccessService;
    const ring = { route: () => ({ dialogId, hash: 1, write: 'target', reads: ['target', 'source'] }) } as unknown as RingService;
    const sut = new MessagesService(repository, { insert: inserts } as unknown as MessageWriter, reader, access, ring, {} as ActivityService, {} as MetricsService, { publish: () => undefined } as unknown as EventPublisher);
    return { sut, inserts };
  }

  it('answers 410 when the target holds the tombstone and the source the live copy', async () => {
    const { sut, inserts } = service({ source: row({}), target: row({ text: '', deleted_at: new Date(), revision: 1 }) });
    const err = await sut.send(alice, dialogId, 'first', 'k-1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DomainException);
    expect(err).toMatchObject({ code: DomainErrorCode.MessageDeleted, details: { messageId: row({}).id } });
    expect(inserts).not.toHaveBeenCalled();
  });

  it('answers 410 when only the source has it, deleted', async () => {
    const { sut } = service({ source: row({ text: '', deleted_at: new Date(), revision: 1 }), target: null });
    await expect(sut.send(alice, dialogId, 'first', 'k-1')).rejects.toMatchObject({ code: DomainErrorCode.MessageDeleted });
  });

  it('returns the later copy of an edited message, not the source\'s first text', async () => {
    const { sut, inserts } = service({ source: row({}), target: row({ text: 'edited', edited_at: new Date(), revision: 1 }) });
    const { message, created } = await sut.send(alice, dialogId, 'first', 'k-1');
    expect({ text: message.text, created }).toEqual({ text: 'edited', created: false });
    expect(inserts).not.toHaveBeenCalled();
  });
});
