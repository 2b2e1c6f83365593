import { ShardRegistry } from '../src/shards/shard-registry';
import { startCluster, TestCluster } from './support/pg-cluster';
import { sql, startTestApp, TestApp } from './support/test-app';

/**
 * An instance may reach a shard by a path of its own (a local PgBouncer, another network):
 * that URL is its own. The registry keeps the URL the shard was registered with, which stays
 * the default for every other instance.
 */
describe('per-instance shard URLs', () => {
  let cluster: TestCluster;
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    cluster = await startCluster({ shards: 2 });
    a = await startTestApp(cluster);
    // The same servers by another name: what a second network path looks like.
    const other = cluster.shardUrls.map((url) => url.replace('127.0.0.1', 'localhost'));
    b = await startTestApp(cluster, { SHARD_URLS: other.join(',') });
  });

  afterAll(async () => {
    await b?.close();
    await a?.close();
    await cluster?.destroy();
  });

  it("keeps each instance's own URL local, and the registry's as it was", async () => {
    const registered = await sql<{ name: string; url: string }>(cluster.dialogDbUrl, 'SELECT name, url FROM shards ORDER BY name');
    expect(registered).toEqual([
      { name: 'shard-0', url: cluster.shardUrls[0] },
      { name: 'shard-1', url: cluster.shardUrls[1] },
    ]);
    expect(a.app.get(ShardRegistry).get('shard-0').url).toBe(cluster.shardUrls[0]);
    expect(b.app.get(ShardRegistry).get('shard-0').url).toBe(cluster.shardUrls[0].replace('127.0.0.1', 'localhost'));
    // Both serve, each by its own path.
    const dialog = await a.http.post('/dialogs').set(a.auth('alice')).send({ participantIds: ['bob'] }).expect(201);
    await b.http.post(`/dialogs/${dialog.body.id}/messages`).set(b.auth('bob')).send({ text: 'hi' }).expect(201);
    const page = await a.http.get(`/dialogs/${dialog.body.id}/messages`).set(a.auth('alice')).expect(200);
    expect(page.body.items.map((m: { text: string }) => m.text)).toEqual(['hi']);
  });
});
