import { ResolvedConfig } from '../config/app-config';
import { MetricsService } from '../observability/metrics.service';
import { LatencyTracker } from '../reshard/latency-tracker';
import { ShardRegistry } from '../shards/shard-registry';
import { InstanceStrain, RingRepository } from './ring.repository';
import { RingService } from './ring.service';

function fakes(transition: unknown = null) {
  const calls: string[] = [];
  const heartbeats: InstanceStrain[] = [];
  const repo = {
    heartbeat: async (_id: string, version: number, _lease: number, live?: InstanceStrain) => {
      calls.push(`heartbeat v${version}`);
      if (live) heartbeats.push(live);
    },
    latest: async () => {
      calls.push('load ring');
      return { version: 7, points: [{ point: 0, shard: 'shard-0' }], transition, reason: 'test', created_at: new Date() };
    },
    shards: async () => [{ name: 'shard-0', url: 'postgres://x/shard-0', status: 'active' }],
    forgetInstance: async () => undefined,
    copyProgress: async () => ({}),
  } as unknown as RingRepository;
  return { calls, heartbeats, repo };
}

describe('RingService.start', () => {
  let latency: LatencyTracker;
  beforeEach(() => (latency = new LatencyTracker()));
  afterEach(() => latency.onModuleDestroy());

  const start = async (repo: RingRepository, config: Partial<ResolvedConfig>, body: (sut: RingService) => Promise<void>) => {
    const registry = {
      urlOf: (_name: string, url: string) => url,
      add: () => undefined,
      has: () => true,
      names: () => ['shard-0'],
      remove: async () => undefined,
      warm: async () => undefined,
    } as unknown as ShardRegistry;
    const metrics = { gauge: () => undefined } as unknown as MetricsService;
    const base = { ringListen: false, ringPollMs: 60_000, heartbeatMs: 60_000, ringLeaseMs: 120_000, shardPoolSize: 2, reshardLatencyTargetMs: null };
    const sut = new RingService({ ...base, ...config } as ResolvedConfig, repo, registry, metrics, latency);
    try {
      await sut.start();
      await body(sut);
    } finally {
      await sut.onApplicationShutdown();
    }
  };

  it('is visible to reshards (a "starting" heartbeat) before it loads the ring it will serve', async () => {
    const { calls, repo } = fakes();
    await start(repo, {}, async (sut) => {
      expect(calls).toEqual(['heartbeat v0', 'load ring', 'heartbeat v7']);
      expect(sut.current().version).toBe(7);
    });
  });

  it("heartbeats its live p99, and whether it is over a serving job's target", async () => {
    const now = Date.now();
    for (let i = 0; i < 100; i++) latency.record(50, now);
    const idle = fakes();
    await start(idle.repo, { reshardLatencyTargetMs: 10 }, async () => {
      // No job's ring served: nothing to be strained by.
      expect(idle.heartbeats.at(-1)).toMatchObject({ strained: false });
      expect(idle.heartbeats.at(-1)!.p99).toBeGreaterThanOrEqual(50);
    });
    const transition = { jobId: '01a21549-5ffd-776d-8f21-62bb0b25ea35', mode: 'write-source', moved: [] };
    const serving = fakes(transition);
    await start(serving.repo, { reshardLatencyTargetMs: 10 }, async () => {
      expect(serving.heartbeats.at(-1)).toMatchObject({ strained: true });
    });
  });
});
