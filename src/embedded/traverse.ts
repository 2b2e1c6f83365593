import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/**
 * Run as root, embedded Postgres runs as the `postgres` OS user, which must be able to walk
 * down to its binaries (inside node_modules) and its data. A checkout under /root or a
 * mktemp directory is 0700, so each directory on the way gets o+x: traverse only, no listing.
 * The launcher (postgres-launcher.ts) does this for every server: the embedded default's, the tests' and the bench's.
 */
export async function grantTraverse(target: string, log: (line: string) => void): Promise<void> {
  if (process.getuid?.() !== 0) return;
  for (let dir = path.resolve(target); ; dir = path.dirname(dir)) {
    const stat = await fs.stat(dir).catch(() => null);
    if (stat?.isDirectory() && !(stat.mode & 0o001)) {
      await fs.chmod(dir, stat.mode | 0o001);
      log(`granted the postgres user traverse permission (o+x) on ${dir}`);
    }
    if (dir === path.dirname(dir)) return;
  }
}
