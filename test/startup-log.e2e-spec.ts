import { startCluster, TestCluster } from './support/pg-cluster';
import { freePort, ServiceProcess, spawnService } from './support/service-process';

interface Line {
  level: number;
  context?: string;
  msg: string;
}

/**
 * What an operator reads when the built service starts: the lines that say which instance
 * it is, which ring it serves and where it listens, not Nest's account of every module and
 * route it wired (those are debug lines).
 */
describe('start-up log', () => {
  let cluster: TestCluster;
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    cluster = await startCluster({ shards: 2 });
  });

  afterAll(async () => {
    for (const service of services) await service.kill();
    await cluster?.destroy();
  });

  /** The JSON lines the service wrote to stdout by the time it serves. */
  async function startUp(env: NodeJS.ProcessEnv = {}): Promise<{ lines: Line[]; port: number }> {
    const port = await freePort();
    const service = spawnService({
      PORT: String(port),
      DIALOG_DB_URL: cluster.dialogDbUrl,
      SHARD_URLS: cluster.shardUrls.join(','),
      JWT_SECRET: 'test-secret',
      ...env,
    });
    services.push(service);
    await service.waitUntilServing(port);
    const lines = service
      .stdout()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Line);
    return { lines, port };
  }

  it('says at the default level what an operator needs, without a line per route or module', async () => {
    const { lines, port } = await startUp();
    const text = lines.map((line) => line.msg);
    expect(text.filter((msg) => msg.startsWith('Mapped {'))).toEqual([]);
    expect(lines.filter((line) => ['RoutesResolver', 'RouterExplorer', 'InstanceLoader'].includes(line.context ?? ''))).toEqual([]);
    expect(text).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^dialogdb: (applied .+|up to date)$/),
        expect.stringMatching(/^instance [0-9a-f-]{36} starting/),
        expect.stringMatching(/^serving ring v1: /),
        `serving on http://127.0.0.1:${port} (API docs at http://127.0.0.1:${port}/docs)`,
      ]),
    );
    expect(lines.length).toBeLessThan(20);
  });

  it('still maps every route at LOG_LEVEL=debug', async () => {
    const { lines } = await startUp({ LOG_LEVEL: 'debug' });
    const mapped = lines.filter((line) => line.msg.startsWith('Mapped {'));
    expect(mapped.length).toBeGreaterThan(20);
    expect(mapped.every((line) => line.level === 20)).toBe(true);
  });
});
