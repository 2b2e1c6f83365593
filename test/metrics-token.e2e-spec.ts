import { createLogger } from '../src/observability/logging';
import { startCluster, TestCluster } from './support/pg-cluster';
import { startTestApp, TestApp } from './support/test-app';

const SCRAPE_TOKEN = 'scrape-4f0c2a9e7b1d4c83';

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startCluster({ shards: 1 });
});

afterAll(async () => {
  await cluster?.destroy();
});

/** An app whose log lines are collected, as they would reach stdout. */
async function appLogging(env: NodeJS.ProcessEnv): Promise<{ t: TestApp; logged: string[] }> {
  const logged: string[] = [];
  const t = await startTestApp(cluster, env, null, createLogger('info', { write: (line: string) => void logged.push(line) }));
  return { t, logged };
}

const warnings = (logged: string[]) => logged.map((line) => JSON.parse(line)).filter((l) => l.level === 40 || l.level === 'warn');

describe('/metrics with METRICS_TOKEN', () => {
  let t: TestApp;
  let logged: string[];

  beforeAll(async () => {
    ({ t, logged } = await appLogging({ METRICS_TOKEN: SCRAPE_TOKEN, HOST: '0.0.0.0' }));
  });

  afterAll(async () => {
    await t?.close();
  });

  it('answers a scraper that sends the token', async () => {
    const res = await t.http.get('/metrics').set('Authorization', `Bearer ${SCRAPE_TOKEN}`).expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.text).toMatch(/^# TYPE chat_http_requests_total counter$/m);
  });

  it.each([
    ['no header', undefined],
    ['a wrong token of the same length', `Bearer ${SCRAPE_TOKEN.slice(0, -1)}x`],
    ['a prefix of the token', `Bearer ${SCRAPE_TOKEN.slice(0, 8)}`],
    ['the token and more', `Bearer ${SCRAPE_TOKEN}x`],
    ['the token as Basic credentials', `Basic ${Buffer.from(`prometheus:${SCRAPE_TOKEN}`).toString('base64')}`],
  ])('refuses %s with a 401 JSON error and no metrics', async (_name, header) => {
    const req = t.http.get('/metrics');
    const res = header ? await req.set('Authorization', header) : await req;
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual({ statusCode: 401, error: 'Unauthorized', message: expect.stringMatching(/METRICS_TOKEN/) });
    expect(res.text).not.toMatch(/chat_/);
  });

  it('is not opened by a user token, not even an admin one', async () => {
    await t.http.get('/metrics').set(t.auth('ops', { admin: true })).expect(401);
  });

  it('leaves /health open, and logs no warning about /metrics', async () => {
    await t.http.get('/health').expect(200);
    expect(warnings(logged).filter((l) => /\/metrics/.test(l.msg))).toEqual([]);
  });
});

describe('/metrics without METRICS_TOKEN', () => {
  it('stays public, with one warning at start when the service listens beyond loopback', async () => {
    const open = await appLogging({ HOST: '0.0.0.0' });
    const local = await appLogging({});
    try {
      await open.t.http.get('/metrics').expect(200);
      await local.t.http.get('/metrics').expect(200);
      expect(warnings(open.logged).filter((l) => /\/metrics/.test(l.msg))).toEqual([
        expect.objectContaining({ msg: expect.stringMatching(/^\/metrics is open to anyone who reaches 0\.0\.0\.0:3000: set METRICS_TOKEN/) }),
      ]);
      expect(warnings(local.logged).filter((l) => /\/metrics/.test(l.msg))).toEqual([]);
    } finally {
      await open.t.close();
      await local.t.close();
    }
  });
});
