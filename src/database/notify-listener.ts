import { Logger } from '@nestjs/common';
import { Client } from 'pg';

export interface NotifyListenerOptions {
  url: string;
  connectTimeoutMs: number;
  channel: string;
  /** A NOTIFY arrived on the channel, with its payload (undefined when it had none). */
  onNotify: (payload: string | undefined) => void;
  /** LISTEN is in place (again): what was announced while nobody listened is to be caught up on. */
  onListening?: () => void;
  logger: Logger;
}

/**
 * A dedicated connection that LISTENs on one channel, and comes back by itself a second after
 * it is lost (polling covers the gap: a listener only makes changes arrive sooner).
 */
export class NotifyListener {
  private client: Client | null = null;
  private stopped = false;

  constructor(private readonly options: NotifyListenerOptions) {}

  async start(): Promise<void> {
    if (this.stopped) return;
    const { url, connectTimeoutMs, channel, logger } = this.options;
    const client = new Client({ connectionString: url, connectionTimeoutMillis: connectTimeoutMs });
    const retry = () => {
      if (this.client !== client || this.stopped) return;
      this.client = null;
      void client.end().catch(() => undefined);
      setTimeout(() => void this.start(), 1000).unref();
    };
    client.on('error', retry);
    client.on('end', retry);
    client.on('notification', (message) => this.options.onNotify(message.payload || undefined));
    this.client = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${channel}`);
      this.options.onListening?.();
    } catch (err) {
      logger.warn(`LISTEN ${channel} failed, polling meanwhile: ${(err as Error).message}`);
      retry();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }
}
