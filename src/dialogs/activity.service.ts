import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, ResolvedConfig } from '../config/app-config';
import { DialogsRepository } from './dialogs.repository';

/**
 * Feeds "most recent activity" of GET /dialogs without writing dialogdb on every send:
 * sends are noted in memory and flushed as one UPDATE per interval, so dialogdb sees at most
 * one statement per instance per second however hot the shards are.
 */
@Injectable()
export class ActivityService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Activity');
  private pending = new Map<string, Date>();
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    @Inject(APP_CONFIG) private readonly config: ResolvedConfig,
    private readonly dialogs: DialogsRepository,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), this.config.activityFlushMs);
    this.timer.unref();
  }

  touch(dialogId: string, at: Date): void {
    const seen = this.pending.get(dialogId);
    if (!seen || seen < at) this.pending.set(dialogId, at);
  }

  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushNow());
    return this.flushing;
  }

  private async flushNow(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      await this.dialogs.touch([...batch.keys()], [...batch.values()]);
    } catch (err) {
      // Keep the batch for the next tick: activity order is best effort, but not dropped.
      for (const [id, at] of batch) this.touch(id, at);
      this.logger.warn(`activity flush of ${batch.size} dialogs failed: ${(err as Error).message}`);
    }
  }

  // After the HTTP server has closed, so no send can be acknowledged after this last flush
  // (flushing before it lost the activity of sends still in flight). And before the
  // DataSource closes: Nest runs this hook module by module, nearest the root first, and the
  // global CoreModule, which holds dialogdb's pool, counts as the farthest.
  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
