import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { eventually } from './eventually';

export { freePort } from '../../src/embedded/processes';

export const ROOT = path.resolve(__dirname, '../..');
/** The built service: e2e tests run what `npm start` runs (`npm test` builds first). */
export const MAIN = path.join(ROOT, 'dist/src/main.js');

export interface ServiceProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Settles when the process has exited, with its exit code (null when a signal ended it). */
  exited: Promise<number | null>;
  /** Resolves at the first output line matching `pattern`; rejects if the process exits first. */
  waitForOutput(pattern: RegExp): Promise<void>;
  /** Polls GET `path` on 127.0.0.1:`port` until it answers 200. */
  waitUntilServing(port: number, opts?: { timeoutMs?: number; path?: string }): Promise<void>;
  /** Sends SIGKILL if it still runs (afterAll), waits for it to go, and lets go of its output. */
  kill(): Promise<void>;
}

/**
 * Runs `command` (the built service by default) with only PATH and `env` as its environment.
 * `detached` makes it the leader of a process group of its own, as a terminal runs a command,
 * so a test can signal the whole group as Ctrl-C does.
 */
export function spawnService(
  env: NodeJS.ProcessEnv,
  command: string[] = [process.execPath, MAIN],
  { detached = false }: { detached?: boolean } = {},
): ServiceProcess {
  const child = spawn(command[0], command.slice(1), {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached,
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk) => (out += chunk));
  child.stderr!.on('data', (chunk) => (err += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    child,
    exited,
    stdout: () => out,
    stderr: () => err,
    waitForOutput: (pattern) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!pattern.test(out + err)) return false;
          child.stdout!.off('data', check);
          child.stderr!.off('data', check);
          resolve();
          return true;
        };
        if (check()) return;
        child.stdout!.on('data', check);
        child.stderr!.on('data', check);
        void exited.then((code) => reject(new Error(`exited with ${code} before printing ${pattern}:\n${out}\n${err}`)));
      }),
    waitUntilServing: async (port, { timeoutMs = 60_000, path: probe = '/health' } = {}) => {
      const serving = eventually(
        async () => {
          const res = await fetch(`http://127.0.0.1:${port}${probe}`);
          if (res.status !== 200) throw new Error(`${probe} answered ${res.status}`);
        },
        { timeoutMs, intervalMs: 200 },
      );
      // A service that failed to start fails the wait at once, with what it printed.
      const died = exited.then((code) => Promise.reject(new Error(`exited with ${code} before serving:\n${out}\n${err}`)));
      await Promise.race([serving, died]);
    },
    kill: async () => {
      if (running()) {
        child.kill('SIGKILL');
        await exited;
      }
      // A grandchild left running (npm's, say) holds these pipes and would keep jest waiting.
      child.stdout!.destroy();
      child.stderr!.destroy();
    },
  };
}
