import { rm } from 'node:fs/promises';
import { killPostmaster, runningPostmasters } from './postmaster';

/** Every test must stop what it started; a postmaster still running here is a leak. */
export default async function globalTeardown(): Promise<void> {
  const root = process.env.PG_TEST_ROOT;
  if (!root) return;
  for (const { pid, dataDir } of runningPostmasters(root)) {
    console.warn(
      `\n!!! LEAKED POSTGRES: pid ${pid} on ${dataDir} was still running after all tests.\n` +
        `!!! Some test started a PgServer/cluster and never stopped or destroyed it. Killing it.\n`,
    );
    await killPostmaster(pid);
  }
  await rm(root, { recursive: true, force: true });
}
