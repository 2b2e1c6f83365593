import { createLogger } from '../src/observability/logging';
import { eventually } from './support/eventually';
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
  // Every line the service logs, as it would reach stdout.
  const logged: string[] = [];

  beforeAll(async () => {
    cluster = await startCluster({ shards: 2 });
    t = await startTestApp(cluster, {}, null, createLogger('info', { write: (line: string) => void logged.push(line) }));
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
    await t.http.get(`/dialogs/${dialog.body.id}`).set(t.auth('eve')).expect(404);

    const after = (await t.http.get('/metrics').expect(200)).text;
    expect(sample(after, 'chat_http_requests_total', { route, method: 'POST', status: '201' })).toBe(sendsBefore + 3);
    expect(sample(after, 'chat_errors_total', { kind: 'DIALOG_NOT_FOUND', status: '404' })).toBeGreaterThanOrEqual(1);
    const shardQueries = ['shard-0', 'shard-1'].map((shard) => sample(after, 'chat_shard_queries_total', { shard, outcome: 'ok' }));
    expect(shardQueries[0] + shardQueries[1]).toBeGreaterThanOrEqual(3);
    expect(sample(after, 'chat_http_request_duration_seconds_count', { route, method: 'POST' })).toBeGreaterThanOrEqual(3);
  });

  it('tells liveness from readiness', async () => {
    expect((await t.http.get('/health/live').expect(200)).body).toEqual({ status: 'ok' });
    const ready = await t.http.get('/health/ready').expect(200);
    expect(ready.body).toMatchObject({ status: 'ready', ringVersion: 1, dialogdb: 'up' });
  });

  it('never logs a token from a URL, however its query spells it, on any route', async () => {
    const dialog = await t.http.post('/dialogs').set(t.auth('alice')).send({ participantIds: ['bob'] }).expect(201);
    const tokens: string[] = [];
    const mint = (opts?: { admin?: boolean; viewer?: boolean }) => {
      const token = t.token(`leak-${tokens.length}`, opts);
      tokens.push(token);
      return token;
    };
    const calls: Array<[string, string, number]> = [
      // The state page takes ?token=; Fastify reads a repeated one, and decodes %74oken to token.
      ['repeat', `/state?token=${mint({ viewer: true })}&token=${mint({ viewer: true })}`, 401],
      ['encoded', `/state/data?%74oken=${mint({ viewer: true })}`, 200],
      ['all-encoded', `/state/data?%74%6F%6B%65%6E=${mint({ admin: true })}`, 200],
      ['refused', `/state/data?a=1&token=${mint()}&token=${mint()}`, 401],
      ['plus', `/state/data?token+=${mint({ viewer: true })}`, 401],
      // Routes that take no token in the URL still log the URL a client sent.
      ['dialogs', `/dialogs?limit=5&token=${mint()}`, 400],
      ['messages', `/dialogs/${dialog.body.id}/messages?limit=5&TOKEN=${mint()}&%74oken=${mint()}`, 400],
      ['otus', `/dialog/bob/list?access_token=${mint()}`, 200],
      ['unknown', `/nowhere?token=${mint()}&%74oken=${mint()}`, 404],
    ];
    for (const [id, url, status] of calls) {
      // On the state page a header would win over the query.
      const req = t.http.get(url).set('X-Request-Id', `mask-${id}`);
      await (url.startsWith('/state') ? req : req.set(t.auth('alice'))).expect(status);
    }
    // The access line is written once the response is on its way.
    const lines = await eventually(() => {
      const found = calls.map(([id]) => logged.find((line) => line.includes(`"reqId":"mask-${id}"`)));
      expect(found.every(Boolean)).toBe(true);
      return found as string[];
    });
    for (const line of logged) {
      for (const token of tokens) expect(line).not.toContain(token.split('.')[2]);
    }
    expect(JSON.parse(lines[0]).url).toBe('/state?token=…&token=…');
    expect(JSON.parse(lines[1]).url).toBe('/state/data?%74oken=…');
    expect(JSON.parse(lines[6]).url).toBe(`/dialogs/${dialog.body.id}/messages?limit=5&TOKEN=…&%74oken=…`);
  });

  it('logs no line for health probes and scrapes, and one for every other request', async () => {
    const probes = ['/health', '/health/live', '/health/ready', '/metrics'];
    for (const url of probes) await t.http.get(url).set('X-Request-Id', `quiet-${url.replace(/\//g, '-')}`).expect(200);
    await t.http.get('/dialogs').set(t.auth('alice')).set('X-Request-Id', 'loud-dialogs').expect(200);
    // Lines are written in the order responses finish, so once the last one is in, any probe's would be too.
    await eventually(() => expect(logged.some((line) => line.includes('"reqId":"loud-dialogs"'))).toBe(true));
    expect(logged.filter((line) => line.includes('"reqId":"quiet-'))).toEqual([]);
  });

  it('echoes a sane X-Request-Id and makes one otherwise', async () => {
    const given = await t.http.get('/health/live').set('X-Request-Id', 'trace-42').expect(200);
    expect(given.headers['x-request-id']).toBe('trace-42');
    const made = await t.http.get('/health/live').set('X-Request-Id', 'bad id with spaces').expect(200);
    expect(made.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});
