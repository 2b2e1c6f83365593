import { Format, MultiBar, SingleBar } from 'cli-progress';
import { setTimeout as sleep } from 'node:timers/promises';
import { AdminApi, ApiError } from './admin-api.client';
import { barLine, barProgress, hasEnded, headline, logUpdate, LogState, ReshardJob } from './reshard-format';

export interface FollowOptions {
  /** Where progress goes. stderr by default, so that stdout carries only the job id. */
  out?: NodeJS.WritableStream;
  /** A live bar rather than log lines. */
  live?: boolean;
  pollMs?: number;
  /** How long the API may be gone (an instance restarting) before following gives up. */
  graceMs?: number;
  /** Name the phases the job went through before following began (false for a job joined midway). */
  history?: boolean;
}

export interface FollowResult {
  /** The last state seen; null only when interrupted before the first answer. */
  job: ReshardJob | null;
  /** Ctrl-C: following stopped, the job did not. */
  interrupted: boolean;
}

interface View {
  update(job: ReshardJob): void;
  log(line: string): void;
  stop(): void;
}

class LogView implements View {
  private state: LogState | null = null;

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly history: boolean,
  ) {}

  update(job: ReshardJob): void {
    const { events, progress, state } = logUpdate(this.state, job, Date.now(), { history: this.history });
    this.state = state;
    for (const line of progress === null ? events : [...events, progress]) this.log(line);
  }

  log(line: string): void {
    this.out.write(`${line}\n`);
  }

  stop(): void {}
}

class BarView implements View {
  private state: LogState | null = null;
  private readonly bars: MultiBar;
  private bar?: SingleBar;

  constructor(
    out: NodeJS.WritableStream,
    private readonly history: boolean,
  ) {
    this.bars = new MultiBar({
      stream: out,
      hideCursor: true,
      // Our own SIGINT handler stops the bar; cli-progress's would swallow the first Ctrl-C.
      gracefulExit: false,
      clearOnComplete: false,
      format: (options, _params, payload: { job: ReshardJob }) => barLine(payload.job, Format.BarFormat(barProgress(payload.job), options)),
    });
  }

  update(job: ReshardJob): void {
    // Phase changes and errors stay on screen above the bar; progress is the bar itself.
    const { events, state } = logUpdate(this.state, job, Date.now(), { history: this.history });
    this.state = state;
    for (const line of events) this.log(line);
    if (this.bar) this.bar.update({ job });
    else this.bar = this.bars.create(1, 0, { job });
  }

  log(line: string): void {
    this.bars.log(`${line}\n`);
  }

  stop(): void {
    // stop() draws the bar once more but drops log lines not yet drawn: draw them first.
    if (this.bar) this.bars.update();
    this.bars.stop();
  }
}

function isTransient(err: unknown): boolean {
  return (err as { transient?: boolean }).transient === true;
}

/**
 * Polls a reshard job until it ends, showing its progress. The first Ctrl-C stops
 * following and returns (the job runs on in the service, which owns it); a second one
 * exits at once.
 */
export async function followJob(api: AdminApi, id: string, options: FollowOptions = {}): Promise<FollowResult> {
  const { out = process.stderr, live = false, pollMs = 500, graceMs = 30_000, history = true } = options;
  const view: View = live ? new BarView(out, history) : new LogView(out, history);
  const abort = new AbortController();
  const exitNow = () => process.exit(130);
  const onSigint = () => {
    abort.abort();
    process.once('SIGINT', exitNow);
  };
  process.once('SIGINT', onSigint);

  let job: ReshardJob | null = null;
  let lostSince: number | null = null;
  try {
    while (!abort.signal.aborted) {
      try {
        const next = await api.getReshard(id, abort.signal);
        if (lostSince !== null) view.log('reached the API again');
        lostSince = null;
        if (job === null) view.log(headline(next));
        job = next;
        view.update(job);
        if (hasEnded(job)) break;
      } catch (err) {
        if (abort.signal.aborted) break;
        const now = Date.now();
        if (err instanceof ApiError && err.status === 404) throw err;
        if (!isTransient(err) || (lostSince !== null && now - lostSince >= graceMs)) {
          throw new Error(`${(err as Error).message}; reshard ${id} keeps running in the service: check on it with npm run -s cli -- reshard status ${id}`);
        }
        if (lostSince === null) {
          lostSince = now;
          view.log(`lost the API, retrying for up to ${Math.round(graceMs / 1000)} s (the job runs on in the service): ${(err as Error).message}`);
        }
      }
      await sleep(pollMs, undefined, { signal: abort.signal }).catch(() => undefined);
    }
  } finally {
    view.stop();
    process.removeListener('SIGINT', onSigint);
    process.removeListener('SIGINT', exitNow);
  }
  return { job, interrupted: abort.signal.aborted && !(job && hasEnded(job)) };
}
