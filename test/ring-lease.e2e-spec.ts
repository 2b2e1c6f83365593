import { eventually } from './support/eventually';
import { startCluster, TestCluster } from './support/pg-cluster';
import { FAST_RING } from './support/reshard';
import { startTestApp, TestApp } from './support/test-app';

/**
 * An instance that cannot read the ring from dialogdb must not keep routing by a ring that
 * may be stale: within its lease it stops serving messages with 503, and it serves again
 * by itself once dialogdb is back.
 */
describe('the ring lease', () => {
  let cluster: TestCluster;
  let t: TestApp;

  beforeAll(async () => {
    cluster = await startCluster({ shards: 2 });
    t = await startTestApp(cluster, FAST_RING);
  });

  afterAll(async () => {
    await t?.close();
    await cluster?.destroy();
  });

  it('stops serving when the ring cannot be refreshed, and recovers', async () => {
    const dialog = await t.http.post('/dialogs').set(t.auth('alice')).send({ participantIds: ['bob'] }).expect(201);
    const send = () => t.http.post(`/dialogs/${dialog.body.id}/messages`).set(t.auth('alice')).send({ text: 'hi' });
    expect((await send()).status).toBe(201);

    await cluster.dialogdb.stop();
    // Membership is cached and the shard is up: only the lease can stop this send.
    const refused = await eventually(
      async () => {
        const res = await send();
        expect(res.status).toBe(503);
        return res;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    expect(refused.body).toMatchObject({ statusCode: 503, code: 'RING_UNAVAILABLE', message: expect.stringMatching(/refresh its ring/) });
    const ready = await t.http.get('/health/ready').expect(503);
    expect(ready.body).toMatchObject({ status: 'not ready', ringVersion: 1, reason: expect.stringMatching(/refresh its ring/) });
    await t.http.get('/health/live').expect(200);

    await cluster.dialogdb.restart();
    await eventually(async () => expect((await send()).status).toBe(201), { timeoutMs: 15_000, intervalMs: 200 });
    await t.http.get('/health/ready').expect(200);
  });
});
