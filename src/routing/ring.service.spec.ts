import { ResolvedConfig } from '../config/app-config';
import { MetricsService } from '../observability/metrics.service';
import { ShardRegistry } from '../shards/shard-registry';
import { RingRepository } from './ring.repository';
import { RingService } from './ring.service';

describe('RingService.start', () => {
  it('is visible to reshards (a "starting" heartbeat) before it loads the ring it will serve', async () => {
    const calls: string[] = [];
    const repo = {
      heartbeat: async (_id: string, version: number) => void calls.push(`heartbeat v${version}`),
      latest: async () => {
        calls.push('load ring');
        return { version: 7, points: [{ point: 0, shard: 'shard-0' }], transition: null, reason: 'test', created_at: new Date() };
      },
      shards: async () => [{ name: 'shard-0', url: 'postgres://x/shard-0', status: 'active' }],
      forgetInstance: async () => undefined,
    } as unknown as RingRepository;
    const registry = {
      urlOf: (_name: string, url: string) => url,
      add: () => undefined,
      has: () => true,
      names: () => ['shard-0'],
      remove: async () => undefined,
      warm: async () => undefined,
    } as unknown as ShardRegistry;
    const metrics = { gauge: () => undefined } as unknown as MetricsService;
    const config = { ringListen: false, ringPollMs: 60_000, heartbeatMs: 60_000, ringLeaseMs: 120_000, shardPoolSize: 2 } as ResolvedConfig;
    const sut = new RingService(config, repo, registry, metrics);
    try {
      await sut.start();
      expect(calls).toEqual(['heartbeat v0', 'load ring', 'heartbeat v7']);
      expect(sut.current().version).toBe(7);
    } finally {
      await sut.onApplicationShutdown();
    }
  });
});
