export interface CoalescingQueueOptions<T> {
  /** The most items one write takes; the rest wait for the next. */
  maxBatch: number;
  /** The most items held while writes fail; past it the oldest are given up. */
  maxQueued: number;
  /** The wait after a failed write before the next try. */
  retryDelayMs: number;
  /** Items given up (the queue overflowed while writes failed, or it was closed). */
  onDropped: (items: T[], why: string) => void;
  onWriteError: (err: unknown, batch: T[]) => void;
  /**
   * Writes start at least this far apart. Each write costs a fixed amount however many items
   * it carries, so under a steady load this bounds the writes per second and makes each carry
   * more; an item pushed longer than this after the last write started still leaves at once.
   */
  minIntervalMs?: number;
  /** How the first write of an idle queue is started; setImmediate lets the current tick's response go first. */
  schedule?: (run: () => void) => void;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/**
 * Writes items in batches: items pushed while a write is in flight gather and leave together
 * in the next one, and an item pushed to an idle queue leaves at once (on the next turn of the
 * event loop) unless the last write started less than `minIntervalMs` ago. So a lone item
 * waits for nothing, and under load a batch is whatever arrived during one write or one
 * interval, whichever is longer. Pushing costs an array push; a failed write is retried, in
 * order, until it succeeds or the queue overflows.
 */
export class CoalescingQueue<T> {
  private queue: T[] = [];
  private running: Promise<void> | null = null;
  private scheduled = false;
  private closed = false;
  private lastStart = -Infinity;
  private readonly schedule: (run: () => void) => void;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;

  constructor(
    private readonly write: (batch: T[]) => Promise<void>,
    private readonly options: CoalescingQueueOptions<T>,
  ) {
    this.schedule = options.schedule ?? ((run) => void setImmediate(run));
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms).unref()));
    this.now = options.now ?? (() => performance.now());
  }

  get size(): number {
    return this.queue.length;
  }

  push(item: T): void {
    if (this.closed) return this.options.onDropped([item], 'closed');
    this.queue.push(item);
    if (this.queue.length > this.options.maxQueued) this.options.onDropped(this.queue.splice(0, this.queue.length - this.options.maxQueued), 'queue full');
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => {
      this.scheduled = false;
      this.start();
    });
  }

  /** Writes what is queued, one try per batch from now on; resolves when the queue is empty. */
  async close(): Promise<void> {
    this.closed = true;
    this.start();
    await this.running;
  }

  private start(): void {
    this.running ??= this.run().finally(() => (this.running = null));
  }

  private async run(): Promise<void> {
    while (this.queue.length > 0) {
      // Closing writes at once: the process is on its way out.
      const wait = this.closed ? 0 : this.lastStart + (this.options.minIntervalMs ?? 0) - this.now();
      if (wait > 0) await this.sleep(wait);
      this.lastStart = this.now();
      const batch = this.queue.splice(0, this.options.maxBatch);
      try {
        await this.write(batch);
      } catch (err) {
        this.options.onWriteError(err, batch);
        if (this.closed) {
          this.options.onDropped(batch, 'closed');
          continue;
        }
        // Back in front, so order holds; what arrived meanwhile waits behind it.
        this.queue.unshift(...batch);
        if (this.queue.length > this.options.maxQueued) this.options.onDropped(this.queue.splice(0, this.queue.length - this.options.maxQueued), 'queue full');
        await this.sleep(this.options.retryDelayMs);
      }
    }
  }
}
