import { AddressInfo } from 'node:net';
import { eventually } from './support/eventually';
import { TestCluster } from './support/pg-cluster';
import { admin, FAST_RING, getJob, inSplitArc, seed, startCrawlingSplit, waitForJob } from './support/reshard';
import { SseClient } from './support/sse-client';
import { startTestApp, TestApp } from './support/test-app';

const portOf = (t: TestApp) => (t.app.getHttpServer().address() as AddressInfo).port;

/**
 * Live delivery does not pass through the shards, but a split moves the dialogs its events are
 * about: a stream held by one instance must get every message sent through the other while
 * the job runs, once each and in the order they were acknowledged.
 */
describe('live events through a split', () => {
  let cluster: TestCluster;
  let a: TestApp;
  let b: TestApp;
  let stream: SseClient | undefined;

  beforeAll(async () => {
    ({ cluster, t: a } = await startCrawlingSplit({ listen: true }));
    b = await startTestApp(cluster, { ...FAST_RING, SHARD_URLS: cluster.shardUrls.slice(0, 2).join(',') });
    await b.app.listen(0, '127.0.0.1');
  });

  afterAll(async () => {
    stream?.close();
    await b?.close();
    await a?.close();
    await cluster?.destroy();
  });

  it('delivers every send made during the job to a stream on another instance, once each, in order', async () => {
    const seeded = await seed(a, 16, 20);
    const dialogs = [...seeded.keys()];
    const seededIds = new Set([...seeded.values()].flat());
    const moving = dialogs.filter(inSplitArc);
    expect(moving.length).toBeGreaterThan(0);
    stream = await SseClient.open(portOf(b), '/events', { authorization: `Bearer ${b.token('bob')}` });
    await eventually(() => expect(stream!.events.some((e) => e.event === 'ready')).toBe(true));

    const id = (await a.http.post('/admin/reshard').set(admin(a)).send({ split: 'shard-0' }).expect(202)).body.id as string;
    const acked: string[] = [];
    let duringCopy = 0;
    for (let i = 0; ; i++) {
      const job = await getJob(a, id);
      if (job.phase === 'done') break;
      // Mostly the moving dialogs, whose writes switch shards under the job.
      const dialog = i % 4 === 3 ? dialogs[i % dialogs.length] : moving[i % moving.length];
      const sent = await a.http.post(`/dialogs/${dialog}/messages`).set(a.auth('alice')).send({ text: `during ${i}` }).expect(201);
      acked.push(sent.body.id as string);
      if (job.phase === 'copy' && inSplitArc(dialog)) duringCopy++;
    }
    await waitForJob(a, id, (j) => j.phase === 'done');
    expect(duringCopy).toBeGreaterThan(5);

    // The seed's last events may still have been on their way to the log when the stream
    // opened (appends are spaced EVENTS_APPEND_INTERVAL_MS apart), so the stream may begin with
    // some of them; every send made during the job must follow, once each, in order.
    const received = () => stream!.data<{ id: string }>('message.created').map((m) => m.id);
    await eventually(() => expect(received().filter((m) => !seededIds.has(m))).toEqual(acked), { timeoutMs: 10_000 });
    expect(new Set(received()).size).toBe(received().length);
  });
});
