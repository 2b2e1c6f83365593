import { setTimeout as sleep } from 'node:timers/promises';
import { MessagesRepository } from '../src/messages/messages.repository';
import { MetricsService } from '../src/observability/metrics.service';
import { startCluster, TestCluster } from './support/pg-cluster';
import { startTestApp, TestApp } from './support/test-app';

/**
 * One hot dialog: many clients poll its newest page while messages arrive. Identical reads in
 * flight share one query, but a read must never miss a message this instance acknowledged
 * before the read began. Each page's answer is held back a little after its query ran (as a
 * busy network would), so sends are acknowledged while reads that cannot see them are in flight.
 */
describe('hot-dialog page reads', () => {
  let cluster: TestCluster;
  let t: TestApp;

  beforeAll(async () => {
    cluster = await startCluster({ shards: 1 });
    t = await startTestApp(cluster);
    const repository = t.app.get(MessagesRepository);
    const pagesJson = repository.pagesJson.bind(repository);
    jest.spyOn(repository, 'pagesJson').mockImplementation(async (...args) => {
      const page = await pagesJson(...args);
      await sleep(25);
      return page;
    });
  });

  afterAll(async () => {
    await t?.close();
    await cluster?.destroy();
  });

  it('shares queries among concurrent readers and never answers a page older than an acknowledged send', async () => {
    const created = await t.http.post('/dialogs').set(t.auth('alice')).send({ participantIds: ['bob'] }).expect(201);
    const dialogId = created.body.id as string;
    const metrics = t.app.get(MetricsService);
    const [reads0, queries0] = [await count(metrics, 'chat_page_reads_total'), await count(metrics, 'chat_page_queries_total')];

    const acked: Array<{ id: string; at: number }> = [];
    const pages: Array<{ startedAt: number; ids: Set<string> }> = [];
    let writing = true;
    const writer = (async () => {
      try {
        for (let i = 0; i < 90; i++) {
          const sent = await t.http.post(`/dialogs/${dialogId}/messages`).set(t.auth('alice')).send({ text: `hot ${i}` }).expect(201);
          acked.push({ id: sent.body.id as string, at: performance.now() });
        }
      } finally {
        writing = false;
      }
    })();
    const reader = async (who: string) => {
      while (writing) {
        const startedAt = performance.now();
        const res = await t.http.get(`/dialogs/${dialogId}/messages?limit=100`).set(t.auth(who)).expect(200);
        pages.push({ startedAt, ids: new Set((res.body.items as Array<{ id: string }>).map((m) => m.id)) });
        // Readers out of step, as real clients are: they arrive at every moment of a read in flight.
        await sleep(Math.random() * 30);
      }
    };
    await Promise.all([writer, ...Array.from({ length: 24 }, (_, i) => reader(i % 2 ? 'alice' : 'bob'))]);

    const stale = pages.flatMap((page) => acked.filter((s) => s.at < page.startedAt && !page.ids.has(s.id)).map((s) => `${s.id} missing from a read that began after its ack`));
    expect(stale).toEqual([]);
    expect(pages.length).toBeGreaterThan(100);
    const reads = (await count(metrics, 'chat_page_reads_total')) - reads0;
    const queries = (await count(metrics, 'chat_page_queries_total')) - queries0;
    expect(reads).toBe(pages.length);
    // Shared: far fewer queries than reads.
    expect(queries).toBeLessThan(reads / 2);
  });
});

async function count(metrics: MetricsService, name: string): Promise<number> {
  const metric = await metrics.registry.getSingleMetric(name)!.get();
  return metric.values.reduce((n, v) => n + v.value, 0);
}
