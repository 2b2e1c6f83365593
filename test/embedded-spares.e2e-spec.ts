import { mkdir, mkdtemp, readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { EmbeddedService } from './support/embedded-service';
import { eventually } from './support/eventually';
import { isAlive, runningPostmasters } from './support/postmaster';

/**
 * A shard that holds no arc is a spare, never active, and a spare removed from the embedded
 * default stays removed: its server stops and its directory is set aside, so a restart
 * does not find it and bring it back.
 */
describe('spares of the embedded default', () => {
  let sut: EmbeddedService;

  beforeAll(async () => {
    sut = await EmbeddedService.create(await mkdtemp(path.join(process.env.PG_TEST_ROOT!, 'spares-')));
  });

  afterAll(() => sut.destroy());

  const shardNamed = async (name: string) => ((await sut.admin('GET', '/admin/shards')).json as { name: string }[]).find((s) => s.name === name);

  it('registers a server found on disk that holds no arc as a spare, and a removed one does not return', async () => {
    let service = sut.foreground();
    await service.waitUntilServing(sut.port);
    process.kill(-service.child.pid!, 'SIGTERM');
    expect(await service.exited).toBe(0);
    // A directory under DATA_DIR/pg gets a server at start, as a cancelled reshard's target has.
    await mkdir(path.join(sut.pgRoot, 'shard-9'), { recursive: true });
    service = sut.foreground();
    await service.waitUntilServing(sut.port);
    expect(await shardNamed('shard-9')).toMatchObject({ name: 'shard-9', point: null, status: 'pending' });
    expect(await shardNamed('shard-0')).toMatchObject({ status: 'active' });
    const spareServer = runningPostmasters(sut.pgRoot).find((p) => p.dataDir.endsWith('shard-9'));
    expect(spareServer).toBeDefined();

    expect((await sut.admin('DELETE', '/admin/shards/shard-9')).status).toBe(204);
    await eventually(() => expect(isAlive(spareServer!.pid)).toBe(false));
    const entries = await readdir(sut.pgRoot);
    expect(entries).not.toContain('shard-9');
    expect(entries.filter((e) => /^retired-shard-9-/.test(e) && !e.endsWith('.log'))).toHaveLength(1);

    process.kill(-service.child.pid!, 'SIGTERM');
    expect(await service.exited).toBe(0);
    service = sut.foreground();
    await service.waitUntilServing(sut.port);
    expect(await shardNamed('shard-9')).toBeUndefined();
    expect(runningPostmasters(sut.pgRoot).map((p) => path.basename(p.dataDir)).sort()).toEqual(['dialogdb', 'shard-0', 'shard-1']);
    process.kill(-service.child.pid!, 'SIGTERM');
    expect(await service.exited).toBe(0);
  }, 120_000);
});
