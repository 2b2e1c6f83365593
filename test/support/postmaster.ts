import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isAlive } from '../../src/embedded/processes';

export { isAlive };

export interface RunningPostmaster {
  pid: number;
  dataDir: string;
}

/**
 * Postmasters still running on `root` itself or on a data directory directly under it.
 * The pid in postmaster.pid may have been recycled since a crash, so only a process
 * that really is postgres counts.
 */
export function runningPostmasters(root: string): RunningPostmaster[] {
  if (!existsSync(root)) return [];
  const subdirs = readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory());
  const dirs = [root, ...subdirs.map((e) => path.join(root, e.name))];
  const found: RunningPostmaster[] = [];
  for (const dataDir of dirs) {
    let pid: number;
    try {
      pid = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    } catch {
      continue;
    }
    if (pid > 0 && isAlive(pid) && commandLine(pid).includes('postgres')) found.push({ pid, dataDir });
  }
  return found;
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

/** SIGQUIT is Postgres' immediate shutdown: the postmaster takes its backends down with it. */
export async function killPostmaster(pid: number, timeoutMs = 5000): Promise<void> {
  if (!Number.isInteger(pid) || pid <= 0) return; // kill(0 or -n) would hit whole process groups
  signal(pid, 'SIGQUIT');
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      signal(pid, 'SIGKILL');
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}
