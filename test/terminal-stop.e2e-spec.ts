import { mkdtemp } from 'node:fs/promises';
import * as path from 'node:path';
import { EmbeddedService } from './support/embedded-service';
import { eventually } from './support/eventually';
import { isAlive, runningPostmasters } from './support/postmaster';
import { descendants } from './support/proc';
import { MAIN, ServiceProcess } from './support/service-process';

/** Everything a service printed, as a terminal shows it. */
const said = (service: ServiceProcess) => service.stdout() + service.stderr();

/**
 * The embedded default stopped the way a terminal stops it: Ctrl-C sends SIGINT to the
 * whole foreground process group, and a closing terminal sends SIGHUP to it. The service,
 * not the signal, must stop its Postgres servers, and last; and a log reader in the same
 * group (`| tee`) that dies first must not leave the service hanging.
 */
describe('the embedded default stopped from a terminal', () => {
  let sut: EmbeddedService;

  beforeAll(async () => {
    sut = await EmbeddedService.create(await mkdtemp(path.join(process.env.PG_TEST_ROOT!, 'terminal-')));
  });

  afterAll(() => sut.destroy());

  it('drains on a Ctrl-C to its process group under load, and only then stops its servers', async () => {
    const service = sut.foreground();
    await service.waitUntilServing(sut.port);
    const postmasters = runningPostmasters(sut.pgRoot);
    expect(postmasters).toHaveLength(3);
    const dialogs: string[] = [];
    for (let i = 0; i < 4; i++) dialogs.push((await sut.api('POST', '/dialogs', { participantIds: [`bob-${i}`] })).json.id);

    const acknowledged: { dialogId: string; id: string; createdAt: string }[] = [];
    const failures: string[] = [];
    let stop = false;
    let sent = 0;
    const writers = dialogs.map(async (dialogId) => {
      while (!stop) {
        const clientMessageId = `m-${sent++}`;
        try {
          const res = await sut.api('POST', `/dialogs/${dialogId}/messages`, { text: 'typed before Ctrl-C', clientMessageId });
          if (res.status === 201) acknowledged.push({ dialogId, id: res.json.id, createdAt: res.json.createdAt });
          else failures.push(`${res.status} ${JSON.stringify(res.json)}`);
        } catch {
          // Refused: the service stopped accepting connections. Nothing was acknowledged.
          stop = true;
        }
      }
    });
    await eventually(() => expect(acknowledged.length).toBeGreaterThan(50), { timeoutMs: 30_000 });
    process.kill(-service.child.pid!, 'SIGINT');
    expect(await service.exited).toBe(0);
    stop = true;
    await Promise.all(writers);

    // The servers were stopped by the service, after its last flush; not by the signal.
    expect(failures).toEqual([]);
    expect(said(service)).not.toMatch(/terminating connection due to administrator command/);
    expect(said(service)).not.toMatch(/flush of \d+ dialogs failed/);
    expect(said(service)).toMatch(/SIGINT: shutting down/);
    expect(said(service)).toMatch(/stopping 3 embedded postgres servers/);
    expect(postmasters.filter((p) => isAlive(p.pid))).toEqual([]);

    // After a restart every acknowledged send is there, and its dialog's activity is not older.
    const again = sut.foreground();
    await again.waitUntilServing(sut.port);
    const { json: list } = await sut.api('GET', '/dialogs?summary=false&limit=100');
    const activity = new Map<string, string>(list.items.map((d: { id: string; lastActivityAt: string }) => [d.id, d.lastActivityAt]));
    for (const dialogId of dialogs) {
      const { json: page } = await sut.api('GET', `/dialogs/${dialogId}/messages?limit=200`);
      const stored = new Set(page.items.map((m: { id: string }) => m.id));
      const mine = acknowledged.filter((a) => a.dialogId === dialogId);
      expect(mine.filter((a) => !stored.has(a.id))).toEqual([]);
      const last = mine.map((a) => a.createdAt).sort().at(-1);
      if (last) expect(Date.parse(activity.get(dialogId)!)).toBeGreaterThanOrEqual(Date.parse(last));
    }
    // A closing terminal: SIGHUP to the group drains the same way.
    process.kill(-again.child.pid!, 'SIGHUP');
    expect(await again.exited).toBe(0);
    expect(said(again)).toMatch(/SIGHUP: shutting down/);
    expect(runningPostmasters(sut.pgRoot)).toEqual([]);
  }, 120_000);

  it('exits when the Ctrl-C also ended the reader of its piped log', async () => {
    // `npm start 2>&1 | tee log` without npm's build: the pipeline shares the group, and
    // tee dies of the SIGINT before the service writes its last lines.
    const logFile = path.join(sut.dataDir, 'piped.log');
    const shell = sut.foreground(['bash', '-c', `'${process.execPath}' '${MAIN}' 2>&1 | tee '${logFile}' >/dev/null`]);
    await shell.waitUntilServing(sut.port);
    const service = descendants(shell.child.pid!).find((p) => p.cmd.includes(MAIN))?.pid;
    expect(service).toBeDefined();
    process.kill(-shell.child.pid!, 'SIGINT');
    await eventually(() => expect(isAlive(service!)).toBe(false), { timeoutMs: 30_000 });
    await shell.exited;
    expect(runningPostmasters(sut.pgRoot)).toEqual([]);
  }, 90_000);
});
