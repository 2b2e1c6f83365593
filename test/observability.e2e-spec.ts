import { startCluster, TestCluster } from './support/pg-cluster';
import { startTestApp, TestApp } from './support/test-app';

/** Lines of the Prometheus text format: comments, or `name{labels} value`. */
const SAMPLE = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$/;

function sample(text: string, name: string, labels: Record<string, string>): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && want.every((w) => l.includes(w)));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('metrics, health and request ids', () => {
  let cluster: TestCluster;
  let t: TestApp;

  beforeAll(async () => {
    cluster = await startCluster({ shards: 2 });
    t = await startTestApp(cluster);
  });

  afterAll(async () => {
    await t?.close();
    await cluster?.destroy();
  });

  it('serves Prometheus text whose counters move with requests', async () => {
    const first = await t.http.get('/metrics').expect(200);
    expect(first.headers['content-type']).toMatch(/^text\/plain/);
    for (const line of first.text.split('\n').filter((l) => l && !l.startsWith('#'))) expect(line).toMatch(SAMPLE);
    for (const name of [
      'chat_http_requests_total',
      'chat_http_request_duration_seconds',
      'chat_shard_queries_total',
      'chat_errors_total',
      'chat_shard_pool_connections',
      'chat_ring_version',
      'chat_ring_refresh_age_seconds',
      'chat_ownership_refusals_total',
      'chat_reshard_rows_copied_total',
    ]) {
      expect(first.text).toContain(`# TYPE ${name} `);
    }
    expect(first.text).toMatch(/^chat_ring_version 1$/m);

    const route = '/dialogs/:dialogId/messages';
    const sendsBefore = sample(first.text, 'chat_http_requests_total', { route, method: 'POST', status: '201' });
    const dialog = await t.http.post('/dialogs').set(t.auth('alice')).send({ participantIds: ['bob'] }).expect(201);
    for (let i = 0; i < 3; i++) await t.http.post(`/dialogs/${dialog.body.id}/messages`).set(t.auth('alice')).send({ text: 'x' }).expect(201);
    await t.http.get(`/dialogs/${dialog.body.id}`).set(t.auth('eve')).expect(403);

    const after = (await t.http.get('/metrics').expect(200)).text;
    expect(sample(after, 'chat_http_requests_total', { route, method: 'POST', status: '201' })).toBe(sendsBefore + 3);
    expect(sample(after, 'chat_errors_total', { kind: 'NOT_A_PARTICIPANT', status: '403' })).toBeGreaterThanOrEqual(1);
    const shardQueries = ['shard-0', 'shard-1'].map((shard) => sample(after, 'chat_shard_queries_total', { shard, outcome: 'ok' }));
    expect(shardQueries[0] + shardQueries[1]).toBeGreaterThanOrEqual(3);
    expect(sample(after, 'chat_http_request_duration_seconds_count', { route, method: 'POST' })).toBeGreaterThanOrEqual(3);
  });

  it('tells liveness from readiness', async () => {
    expect((await t.http.get('/health/live').expect(200)).body).toEqual({ status: 'ok' });
    const ready = await t.http.get('/health/ready').expect(200);
    expect(ready.body).toMatchObject({ status: 'ready', ringVersion: 1, dialogdb: 'up' });
  });

  it('echoes a sane X-Request-Id and makes one otherwise', async () => {
    const given = await t.http.get('/health/live').set('X-Request-Id', 'trace-42').expect(200);
    expect(given.headers['x-request-id']).toBe('trace-42');
    const made = await t.http.get('/health/live').set('X-Request-Id', 'bad id with spaces').expect(200);
    expect(made.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});
