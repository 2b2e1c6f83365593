import { ringHash } from '../src/ring';
import { eventually } from './support/eventually';
import { startCluster, TestCluster } from './support/pg-cluster';
import { startTestApp, TestApp } from './support/test-app';

describe('a shard that is down', () => {
  let cluster: TestCluster;
  let t: TestApp;
  const onShard: Record<number, string> = {};

  beforeAll(async () => {
    cluster = await startCluster({ shards: 2 });
    t = await startTestApp(cluster);
    while (onShard[0] === undefined || onShard[1] === undefined) {
      const res = await t.http.post('/dialogs').set(t.auth('alice')).send({ participantIds: ['bob'] }).expect(201);
      onShard[ringHash(res.body.id) < 2147483647 ? 0 : 1] ??= res.body.id;
    }
    for (const id of Object.values(onShard)) {
      await t.http.post(`/dialogs/${id}/messages`).set(t.auth('alice')).send({ text: 'before' }).expect(201);
    }
  });

  afterAll(async () => {
    await t?.close();
    await cluster?.destroy();
  });

  async function timed<T>(call: () => Promise<T>): Promise<{ res: T; ms: number }> {
    const start = performance.now();
    const res = await call();
    return { res, ms: performance.now() - start };
  }

  it('fails its dialogs fast with 503 while the other shard keeps serving, and recovers by itself', async () => {
    await cluster.shards[1].stop();
    const down = onShard[1];
    const up = onShard[0];

    for (const call of [
      () => t.http.post(`/dialogs/${down}/messages`).set(t.auth('alice')).send({ text: 'while down' }),
      () => t.http.get(`/dialogs/${down}/messages`).set(t.auth('bob')),
    ]) {
      const { res, ms } = await timed(call);
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable', code: 'SHARD_UNAVAILABLE', database: 'shard-1' });
      expect(ms).toBeLessThan(1000);
    }

    await t.http.post(`/dialogs/${up}/messages`).set(t.auth('alice')).send({ text: 'still works' }).expect(201);
    const list = await t.http.get(`/dialogs/${up}/messages`).set(t.auth('bob')).expect(200);
    expect(list.body.items.map((m: { text: string }) => m.text)).toEqual(['still works', 'before']);
    // dialogdb is not on the message path, so dialogs of the stopped shard still open.
    await t.http.get(`/dialogs/${down}`).set(t.auth('alice')).expect(200);

    const health = await t.http.get('/health').expect(503);
    expect(health.body.databases).toEqual({ dialogdb: 'up', 'shard-0': 'up', 'shard-1': 'down' });

    await cluster.shards[1].restart();
    await eventually(async () => {
      await t.http.post(`/dialogs/${down}/messages`).set(t.auth('alice')).send({ text: 'after' }).expect(201);
    });
    const back = await t.http.get(`/dialogs/${down}/messages`).set(t.auth('bob')).expect(200);
    expect(back.body.items.map((m: { text: string }) => m.text)).toEqual(['after', 'before']);
    await t.http.get('/health').expect(200);
  });
});
