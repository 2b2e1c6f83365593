import { Injectable } from '@nestjs/common';
import { AuthUser } from '../auth/auth.decorators';
import { DomainErrorCode, DomainException } from '../common/domain.exception';
import { EventPublisher } from '../events/event-publisher';
import { LogContext } from '../observability/log-context';
import { MetricsService } from '../observability/metrics.service';
import { onRoute, retryRefused } from '../routing/on-route';
import { RingService } from '../routing/ring.service';
import { DialogAccessService } from './dialog-access.service';
import { ReadMarkDto } from './dialog.dto';
import { DialogSummary, maxId, NEWEST_ROWS, plainSummary, PREVIEW_CHARS, SummaryMerge, UNREAD_CAP } from './dialog-summary';
import { ReadMarksRepository, ShardSummary, SummaryRequest } from './read-marks.repository';

/** What the list says of a dialog whose shard cannot be reached right now. */
const UNKNOWN: DialogSummary = { unreadCount: null, lastMessage: null };

const isComplete = (parts: Array<ShardSummary | null>): parts is ShardSummary[] => parts.every((p) => p !== null);

interface Ask {
  /** The dialog's place in the page. */
  index: number;
  shard: string;
  request: SummaryRequest;
}

/**
 * Read marks and what the dialog list shows from the shards: unread counts and the last
 * message. Marks live on the dialog's shard; during a reshard a moving dialog's mark is
 * written to its write shard and read from every shard of its route, the greatest winning
 * (the copier keeps the greater too).
 */
@Injectable()
export class ReadStateService {
  constructor(
    private readonly marks: ReadMarksRepository,
    private readonly access: DialogAccessService,
    private readonly ring: RingService,
    private readonly metrics: MetricsService,
    private readonly events: EventPublisher,
  ) {}

  /** Moves the caller's mark forward to `messageId`, never back; answers the mark in force. */
  async markRead(user: AuthUser, dialogId: string, messageId: string, log: LogContext = {}): Promise<ReadMarkDto> {
    const participants = await this.access.assertParticipant(dialogId, user.id);
    const { mark, moved } = await onRoute(
      this.ring,
      this.metrics,
      dialogId,
      async (route) => {
        const others = await Promise.all(route.reads.filter((s) => s !== route.write).map((s) => this.marks.peek(s, dialogId, route.hash, user.id, messageId)));
        const write = await this.marks.advance(route.write, dialogId, route.hash, user.id, messageId, others.some((o) => o.found));
        if (!write.found) throw new DomainException(DomainErrorCode.MessageNotFound, `message ${messageId} not found`);
        const inForce = maxId([write.moved ?? write.previous, ...others.map((o) => o.mark)])!;
        // Moved here but still behind a mark the copier has not brought over: nothing changed for anyone.
        return { mark: inForce, moved: write.moved === inForce };
      },
      log,
    );
    const dto: ReadMarkDto = { dialogId, userId: user.id, messageId: mark };
    if (moved) this.events.publish('dialog.read', dialogId, participants, dto);
    return dto;
  }

  /**
   * Each dialog's unread count and last message for `userId`, in the order given: one
   * statement per shard involved, all at once. A moving dialog is read from both its shards
   * and merged; only when a merge cannot settle from the first answers does it ask again.
   */
  async summaries(userId: string, dialogIds: string[]): Promise<DialogSummary[]> {
    if (dialogIds.length === 0) return [];
    // A refusal means a route was stale: the whole page again, on the new ring.
    return retryRefused(this.ring, this.metrics, async () => {
      const routes = dialogIds.map((id) => this.ring.route(id));
      const out: DialogSummary[] = [];
      const merges = new Map<number, SummaryMerge>();
      let asks: Ask[] = [];
      routes.forEach((route, index) => {
        const merged = route.reads.length > 1;
        if (merged) merges.set(index, new SummaryMerge(UNREAD_CAP, NEWEST_ROWS));
        for (const shard of route.reads) asks.push({ index, shard, request: { dialogId: route.dialogId, hash: route.hash, merged } });
      });
      while (asks.length > 0) {
        const answers = await this.ask(userId, asks);
        const parts = new Map<number, Array<ShardSummary | null>>();
        asks.forEach((ask, k) => {
          const answer = answers[k];
          if (!merges.has(ask.index)) out[ask.index] = answer ? plainSummary(answer) : UNKNOWN;
          else (parts.get(ask.index) ?? parts.set(ask.index, []).get(ask.index)!).push(answer);
        });
        asks = [];
        for (const [index, answered] of parts) {
          if (!isComplete(answered)) {
            out[index] = UNKNOWN;
            continue;
          }
          const merge = merges.get(index)!;
          merge.add(answered);
          if (merge.done) {
            out[index] = merge.result();
            continue;
          }
          const { dialogId, hash, reads } = routes[index];
          for (const shard of reads) asks.push({ index, shard, request: { dialogId, hash, merged: true, ...merge.next() } });
        }
      }
      return out;
    });
  }

  /**
   * One statement per shard, in parallel; the answers in the order of `asks`, null from a
   * shard that cannot be reached: a shard that is down costs the list only its own dialogs' counts.
   */
  private async ask(userId: string, asks: Ask[]): Promise<Array<ShardSummary | null>> {
    const byShard = new Map<string, number[]>();
    asks.forEach((ask, k) => (byShard.get(ask.shard) ?? byShard.set(ask.shard, []).get(ask.shard)!).push(k));
    const answers: Array<ShardSummary | null> = [];
    await Promise.all(
      [...byShard].map(async ([shard, ks]) => {
        const rows = await this.marks.summaries(shard, userId, ks.map((k) => asks[k].request), UNREAD_CAP, NEWEST_ROWS, PREVIEW_CHARS).catch((err: unknown) => {
          if (err instanceof DomainException && err.code === DomainErrorCode.ShardUnavailable) return ks.map(() => null);
          throw err;
        });
        ks.forEach((k, j) => (answers[k] = rows[j]));
      }),
    );
    return answers;
  }
}
