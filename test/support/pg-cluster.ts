import { PgServer } from './pg-server';

export interface TestCluster {
  dialogdb: PgServer;
  shards: PgServer[];
  /** Database `dialogdb` on the dialogdb server. */
  dialogDbUrl: string;
  /** Database `messagedb` on each shard, in shard order. */
  shardUrls: string[];
  destroy(): Promise<void>;
}

/** One dialogdb server plus `shards` message shards, each a separate Postgres server. */
export async function startCluster({ shards = 2 }: { shards?: number } = {}): Promise<TestCluster> {
  const names = ['dialogdb', ...Array.from({ length: shards }, (_, i) => `shard${i}`)];
  const results = await Promise.allSettled(names.map((name) => PgServer.start({ name })));
  const servers = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    // Don't leak the servers that did start.
    await Promise.all(servers.map((s) => s.destroy()));
    throw failed.reason;
  }
  const [dialogdb, ...shardServers] = servers;
  return {
    dialogdb,
    shards: shardServers,
    dialogDbUrl: dialogdb.url('dialogdb'),
    shardUrls: shardServers.map((s) => s.url('messagedb')),
    destroy: async () => {
      await Promise.all(servers.map((s) => s.destroy()));
    },
  };
}
