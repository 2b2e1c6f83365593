import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { eventually } from './support/eventually';
import { pageScript } from './support/page-script';
import { descendants } from './support/proc';
import { isAlive, killPostmaster, runningPostmasters } from './support/postmaster';
import { freePort, MAIN, ROOT, ServiceProcess, spawnService } from './support/service-process';

/**
 * The README's `npm start` as an operator runs it (prestart build included): `kill <pid of
 * npm>` must stop the service and its embedded Postgres servers, not npm alone; and a
 * second start on the same data directory must say so in one plain line and exit 1.
 */
describe('npm start on the embedded default', () => {
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let npm: ServiceProcess | undefined;
  let servicePid = 0;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(process.env.PG_TEST_ROOT!, 'npm-start-'));
    env = {
      HOME: process.env.HOME,
      DATA_DIR: dataDir,
      PORT: String(await freePort()),
      // Away from the default 54320 so a developer's own `npm start` is not disturbed.
      EMBEDDED_PG_PORT: String(20000 + Math.floor(Math.random() * 30000)),
    };
    npm = spawnService(env, ['npm', 'start']);
    // The prestart build comes first.
    await npm.waitUntilServing(Number(env.PORT), { timeoutMs: 150_000 });
    // The node process itself: before the fix a shell stood between npm and node, and its
    // command line names main.js too.
    servicePid = descendants(npm.child.pid!).find((p) => /^\S*node dist\/src\/main\.js$/.test(p.cmd))?.pid ?? 0;
  }, 180_000);

  afterAll(async () => {
    // Whatever the outcome, leave no service and no postmaster behind.
    await npm?.kill();
    if (servicePid && isAlive(servicePid)) {
      process.kill(servicePid, 'SIGTERM');
      await eventually(() => expect(isAlive(servicePid)).toBe(false), { timeoutMs: 30_000 }).catch(() => process.kill(servicePid, 'SIGKILL'));
    }
    for (const { pid } of runningPostmasters(path.join(dataDir, 'pg'))) await killPostmaster(pid);
  });

  it('runs the service with its three Postgres servers', () => {
    expect(servicePid).toBeGreaterThan(0);
    expect(runningPostmasters(path.join(dataDir, 'pg'))).toHaveLength(3);
  });

  it('serves the state page with the script the build emitted', async () => {
    // A viewer token from the CLI, signed with the secret this start keeps in DATA_DIR.
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(ROOT, 'dist/src/cli.js'), 'token', 'ops', '--viewer'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: dataDir },
    });
    const url = `http://127.0.0.1:${env.PORT}/state`;
    const res = await fetch(url, { headers: { Authorization: `Bearer ${stdout.trim()}` } });
    expect(res.status).toBe(200);
    const { source } = await pageScript(url, await res.text());
    expect(source).toMatch(/^function runStatePage\(/m);
    expect(source).toMatch(/^runStatePage\(/m);
  });

  it('refuses a second start on the same data directory with one plain line and exit 1', async () => {
    // Refused before its prestart build, which would replace dist/ under the first instance.
    const built = statSync(MAIN).mtimeMs;
    const second = spawnService({ ...env, PORT: String(await freePort()) }, ['npm', 'start']);
    expect(await second.exited).toBe(1);
    expect(statSync(MAIN).mtimeMs).toBe(built);
    expect(second.stdout()).not.toMatch(/nest build/);
    const output = second.stdout() + second.stderr();
    expect(output).not.toMatch(/\x1b\[/);
    expect(output).not.toMatch(/^\s+at /m);
    // npm's own lines (if it prints any) are npm's; the service says one thing.
    const lines = second.stderr().split('\n').filter((line) => line.trim() && !line.startsWith('npm '));
    expect(lines).toEqual([expect.stringMatching(new RegExp(`^error: .*${dataDir}.* is in use by another running instance \\(pid ${servicePid}\\b`))]);
    // The first instance is untouched.
    const health = await fetch(`http://127.0.0.1:${env.PORT}/health`);
    expect(health.status).toBe(200);
  });

  it('passes SIGTERM sent to npm on to the service, which stops its Postgres servers and exits', async () => {
    const postmasters = runningPostmasters(path.join(dataDir, 'pg')).map((p) => p.pid);
    expect(postmasters).toHaveLength(3);
    npm!.child.kill('SIGTERM');
    expect(await npm!.exited).toBe(0);
    await eventually(() => {
      expect(isAlive(servicePid)).toBe(false);
      expect(postmasters.filter(isAlive)).toEqual([]);
    });
    expect(npm!.stdout()).toMatch(/SIGTERM: shutting down/);
  });
});
