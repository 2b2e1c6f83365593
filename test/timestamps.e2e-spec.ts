import type { AddressInfo } from 'node:net';
import { eventually } from './support/eventually';
import { startCluster, TestCluster } from './support/pg-cluster';
import { admin, FAST_RING, inSplitArc, waitForJob } from './support/reshard';
import { SseClient } from './support/sse-client';
import { startTestApp, TestApp } from './support/test-app';

/** RFC 3339 in UTC with milliseconds, as Date.prototype.toISOString writes it. */
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** Anything that starts like a date and time is meant to be an instant. */
const LOOKS_LIKE_A_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:/;

/** Every string in `value` that looks like a time, with its path (`job.phaseTimes.copy.startedAt`). */
function times(value: unknown, path: string, found: Array<[string, string]> = []): Array<[string, string]> {
  if (typeof value === 'string' && LOOKS_LIKE_A_TIME.test(value)) found.push([path, value]);
  else if (Array.isArray(value)) value.forEach((v, i) => times(v, `${path}[${i}]`, found));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) times(v, `${path}.${k}`, found);
  return found;
}

/**
 * One format for every instant the API returns (dialogs, messages, dialog lists, reshard jobs
 * with their phase times, the shards, the state page's data, events): a client parses one.
 */
describe('timestamps', () => {
  let cluster: TestCluster;
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    cluster = await startCluster({ shards: 3 });
    t = await startTestApp(cluster, { ...FAST_RING, RESHARD_BATCH: '50', SHARD_URLS: cluster.shardUrls.slice(0, 2).join(',') });
    await t.app.listen(0, '127.0.0.1');
    port = (t.app.getHttpServer().address() as AddressInfo).port;
    await t.http.post('/admin/shards').set(admin(t)).send({ name: 'shard-2', url: cluster.shardUrls[2] }).expect(201);
  });

  afterAll(async () => {
    await t?.close();
    await cluster?.destroy();
  });

  it('are RFC 3339 in UTC with milliseconds everywhere', async () => {
    const stream = await SseClient.open(port, '/events', t.auth('bob'));
    await eventually(() => expect(stream.data('ready')).toHaveLength(1));

    // Dialogs until one moves in the split, so the job has rows to copy.
    const dialogs: string[] = [];
    while (!dialogs.some(inSplitArc) || dialogs.length < 2) {
      dialogs.push((await t.http.post('/dialogs').set(t.auth('alice')).send({ participantIds: ['bob'], title: 't' }).expect(201)).body.id);
    }
    const bodies: Record<string, unknown> = {};
    for (const [i, id] of dialogs.entries()) {
      const sent = await t.http.post(`/dialogs/${id}/messages`).set(t.auth('alice')).send({ text: 'hi', clientMessageId: `c-${i}` }).expect(201);
      bodies[`send ${i}`] = sent.body;
      bodies[`edit ${i}`] = (await t.http.patch(`/dialogs/${id}/messages/${sent.body.id}`).set(t.auth('alice')).send({ text: 'hi!' }).expect(200)).body;
      bodies[`retry ${i}`] = (await t.http.post(`/dialogs/${id}/messages`).set(t.auth('alice')).send({ text: 'hi', clientMessageId: `c-${i}` }).expect(200)).body;
      bodies[`read ${i}`] = (await t.http.post(`/dialogs/${id}/read`).set(t.auth('bob')).send({ messageId: sent.body.id }).expect(200)).body;
    }

    const started = await t.http.post('/admin/reshard').set(admin(t)).send({ split: 'shard-0' }).expect(202);
    const job = await waitForJob(t, started.body.id, (j) => j.phase === 'done');
    expect(Object.keys(job.phaseTimes as object)).toEqual(expect.arrayContaining(['prepare', 'copy', 'verify', 'cutover', 'cleanup', 'done']));

    const get = async (url: string) => (await t.http.get(url).set(url.startsWith('/admin') || url.startsWith('/state') ? admin(t) : t.auth('alice')).expect(200)).body;
    bodies.job = await get(`/admin/reshard/${started.body.id}`);
    bodies.jobs = await get('/admin/reshard');
    bodies.shards = await get('/admin/shards');
    bodies.state = await get('/state/data');
    bodies.dialogs = await get('/dialogs');
    bodies.dialog = await get(`/dialogs/${dialogs[0]}`);
    for (const [i, id] of dialogs.entries()) bodies[`page ${i}`] = await get(`/dialogs/${id}/messages`);
    const events = await eventually(() => {
      const seen = stream.data('dialog.created', 'message.created', 'message.edited', 'dialog.read');
      expect(seen).toHaveLength(dialogs.length * 4);
      return seen;
    });
    bodies.events = events;
    stream.close();

    const found = times(bodies, 'body');
    // The walk must have met the fields it is about.
    for (const field of [
      'body.job.phaseTimes.prepare.startedAt',
      'body.job.phaseTimes.prepare.endedAt',
      'body.job.phaseTimes.done.startedAt',
      'body.job.createdAt',
      'body.job.updatedAt',
      'body.jobs[0].phaseTimes.copy.startedAt',
      'body.state.generatedAt',
      'body.state.job.phaseTimes.cleanup.endedAt',
      'body.dialog.createdAt',
      'body.dialog.lastActivityAt',
      'body.dialogs.items[0].lastMessage.createdAt',
      'body.send 0.createdAt',
      'body.edit 0.editedAt',
      'body.page 0.items[0].editedAt',
      'body.events[0].createdAt',
    ]) {
      expect(found.map(([path]) => path)).toContain(field);
    }
    expect(found.filter(([, value]) => !INSTANT.test(value))).toEqual([]);
  });
});
