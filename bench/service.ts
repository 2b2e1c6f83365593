import { ChildProcess, spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { freePort } from '../src/embedded/processes';
import { sleep } from './pg-fleet';

const ROOT = path.resolve(__dirname, '..', '..');
const MAIN = path.join(ROOT, 'dist', 'src', 'main.js');

export interface ServiceEnv {
  dialogDbUrl: string;
  shardUrls: string[];
  jwtSecret: string;
}

/**
 * The service as production runs it: `node dist/src/main.js` in its own process with its
 * own event loop, configured by environment only, so the load generator never shares a
 * CPU-bound loop with it. Its JSON log lines go to a file, not through the bench.
 */
export class ServiceProcess {
  private constructor(
    readonly child: ChildProcess,
    readonly baseUrl: string,
    readonly logFile: string,
    readonly startedAt: number,
  ) {}

  get pid(): number {
    return this.child.pid!;
  }

  static async start(env: ServiceEnv, logFile: string, nodeFlags: string[] = []): Promise<ServiceProcess> {
    const port = await freePort();
    const out = openSync(logFile, 'a');
    const startedAt = Date.now();
    const child = spawn(process.execPath, [...nodeFlags, MAIN], {
      cwd: ROOT,
      env: {
        ...process.env,
        HOST: '127.0.0.1',
        PORT: String(port),
        DIALOG_DB_URL: env.dialogDbUrl,
        SHARD_URLS: env.shardUrls.join(','),
        JWT_SECRET: env.jwtSecret,
        // Each of the bench's hundred users sends far faster than a person could. Limits
        // none of them reaches keep the limiter in every measured request, throttling none.
        RATE_LIMIT_SENDS_PER_MIN: '100000000',
        RATE_LIMIT_SENDS_BURST: '100000000',
        RATE_LIMIT_DIALOGS_PER_MIN: '100000000',
        RATE_LIMIT_DIALOGS_BURST: '100000000',
      },
      stdio: ['ignore', out, out],
    });
    closeSync(out);
    const service = new ServiceProcess(child, `http://127.0.0.1:${port}`, logFile, startedAt);
    try {
      await service.waitReady(60_000);
    } catch (err) {
      await service.stop();
      throw err;
    }
    return service;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`the service exited during start-up (code ${this.child.exitCode}); see ${this.logFile}`);
      const ok = await fetch(`${this.baseUrl}/health/ready`).then((r) => r.ok, () => false);
      if (ok) return;
      await sleep(200);
    }
    throw new Error(`the service was not ready within ${timeoutMs} ms; see ${this.logFile}`);
  }

  /** SIGTERM lets it flush dialog activity and close its pools; SIGKILL if it hangs. */
  async stop(): Promise<void> {
    if (!this.running) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    if (await Promise.race([exited.then(() => false), sleep(15_000).then(() => true)])) {
      this.child.kill('SIGKILL');
      await exited;
    }
  }

  /** Resident set size in MiB, from /proc; null once the process is gone. */
  rssMiB(): number | null {
    try {
      const kb = Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'))?.[1]);
      return Number.isFinite(kb) ? kb / 1024 : null;
    } catch {
      return null;
    }
  }
}

export interface RssSample {
  at: number;
  mib: number;
}

/** Reads the service's RSS every second for as long as the bench runs. */
export class RssSampler {
  readonly samples: RssSample[] = [];
  private timer?: NodeJS.Timeout;

  start(service: () => ServiceProcess | undefined): void {
    this.timer = setInterval(() => {
      const mib = service()?.rssMiB();
      if (mib) this.samples.push({ at: Date.now(), mib });
    }, 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  between(from: number, to: number): RssSample[] {
    return this.samples.filter((s) => s.at >= from && s.at <= to);
  }
}

/** Holds the current service process; the profile step replaces it with a profiled one. */
export class ServiceSlot {
  current?: ServiceProcess;

  async replace(next: () => Promise<ServiceProcess>): Promise<ServiceProcess> {
    await this.current?.stop();
    this.current = await next();
    return this.current;
  }

  assertAlive(step: string): void {
    if (this.current && !this.current.running) {
      throw new Error(`the service exited during ${step} (code ${this.current.child.exitCode}); see ${this.current.logFile}`);
    }
  }
}
