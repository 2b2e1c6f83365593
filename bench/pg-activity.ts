import { Client } from 'pg';

export type PgEventKind = 'autovacuum' | 'checkpoint' | 'seq scan';

/** Something a Postgres server did that no single request explains: a vacuum, a checkpoint, a full scan. */
export interface PgEvent {
  server: string;
  kind: PgEventKind;
  /** Epoch milliseconds of the first and last sample that saw it. */
  from: number;
  to: number;
  /** For seq scans: how many started in the span. */
  count: number;
}

interface Watched {
  name: string;
  client: Client;
  checkpoints: number | null;
  seqScans: number | null;
}

interface Sample {
  checkpoints: string;
  seq_scans: string;
  vacuuming: boolean;
}

const SAMPLE_MS = 1000;

/**
 * Samples each server once a second: is a vacuum running (pg_stat_progress_vacuum), did a
 * checkpoint complete (pg_stat_checkpointer), did anything scan the whole messages table
 * (its seq_scan counter; every message query of the API is an index scan). Big copies and
 * deletes trigger vacuums and checkpoints, which write a lot with fsync on; a full scan of
 * a large table takes a core or more. They explain latency no request of ours caused.
 */
export class PgActivitySampler {
  readonly events: PgEvent[] = [];
  /** The first sampling error, so a broken query does not go unnoticed as "nothing happened". */
  error?: string;
  private timer?: NodeJS.Timeout;
  private busy = false;

  private constructor(private readonly servers: Watched[]) {}

  static async start(urls: Map<string, string>): Promise<PgActivitySampler> {
    const servers: Watched[] = [];
    for (const [name, url] of urls) {
      const client = new Client({ connectionString: url, application_name: 'bench-activity' });
      client.on('error', () => undefined);
      await client.connect();
      servers.push({ name, client, checkpoints: null, seqScans: null });
    }
    const sampler = new PgActivitySampler(servers);
    sampler.timer = setInterval(() => void sampler.sample(), SAMPLE_MS);
    await sampler.sample();
    return sampler;
  }

  private async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    const now = Date.now();
    try {
      await Promise.all(this.servers.map((s) => this.sampleOne(s, now)));
    } catch (err) {
      this.error ??= (err as Error).message;
    } finally {
      this.busy = false;
    }
  }

  private async sampleOne(s: Watched, now: number): Promise<void> {
    const { rows } = await s.client.query<Sample>(
      `SELECT (SELECT num_timed + num_requested FROM pg_stat_checkpointer) AS checkpoints,
              (SELECT coalesce(sum(seq_scan), 0) FROM pg_stat_user_tables WHERE relname = 'messages') AS seq_scans,
              EXISTS (SELECT 1 FROM pg_stat_progress_vacuum v JOIN pg_database d ON d.oid = v.datid
                      WHERE d.datname = current_database()) AS vacuuming`,
    );
    const checkpoints = Number(rows[0].checkpoints);
    const seqScans = Number(rows[0].seq_scans);
    if (s.checkpoints !== null && checkpoints > s.checkpoints) this.mark(s.name, 'checkpoint', now, checkpoints - s.checkpoints);
    if (s.seqScans !== null && seqScans > s.seqScans) this.mark(s.name, 'seq scan', now, seqScans - s.seqScans);
    if (rows[0].vacuuming) this.mark(s.name, 'autovacuum', now, 0);
    s.checkpoints = checkpoints;
    s.seqScans = seqScans;
  }

  /** Extends the server's last span of this kind if it was seen in the previous sample, else starts one. */
  private mark(server: string, kind: PgEventKind, now: number, count: number): void {
    const last = this.events.filter((e) => e.server === server && e.kind === kind).at(-1);
    if (last && now - last.to <= SAMPLE_MS * 1.5) {
      last.to = now;
      last.count += count;
    } else {
      this.events.push({ server, kind, from: now, to: now, count });
    }
  }

  between(from: number, to: number): PgEvent[] {
    return this.events.filter((e) => e.to >= from && e.from <= to);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.allSettled(this.servers.map((s) => s.client.end()));
  }
}
