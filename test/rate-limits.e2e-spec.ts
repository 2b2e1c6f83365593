import { eventually } from './support/eventually';
import { startCluster, TestCluster } from './support/pg-cluster';
import { startTestApp, TestApp } from './support/test-app';

// A token every two seconds: a refusal asks for a short wait, and a burst sent back to back
// is refused at its end even on a busy machine.
const PER_MIN = '30';
const SEND_BURST = 5;
const DIALOG_BURST = 2;

describe('per-user rate limits', () => {
  let cluster: TestCluster;
  let t: TestApp;

  beforeAll(async () => {
    cluster = await startCluster({ shards: 2 });
    t = await startTestApp(cluster, {
      RATE_LIMIT_SENDS_PER_MIN: PER_MIN,
      RATE_LIMIT_SENDS_BURST: String(SEND_BURST),
      RATE_LIMIT_DIALOGS_PER_MIN: PER_MIN,
      RATE_LIMIT_DIALOGS_BURST: String(DIALOG_BURST),
    });
  });

  afterAll(async () => {
    await t?.close();
    await cluster?.destroy();
  });

  type Res = { status: number; headers: Record<string, string>; body: Record<string, unknown> };

  function expectLimited(res: Res, limit: 'sends' | 'dialogs'): number {
    expect({ status: res.status, body: res.body }).toEqual({
      status: 429,
      body: {
        statusCode: 429,
        error: 'Too Many Requests',
        message: expect.stringMatching(new RegExp(`^too many ${limit}: .*retry in \\d+ s$`)),
        code: 'RATE_LIMITED',
        limit,
        retryAfter: expect.any(Number),
      },
    });
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['retry-after']).toMatch(/^[1-9]\d*$/);
    const seconds = Number(res.headers['retry-after']);
    expect(res.body.retryAfter).toBe(seconds);
    return seconds;
  }

  /** Retries `call` until it is let through; it must be by the Retry-After it was given (plus slack for the polling). */
  async function letThroughAfter<T extends Res>(seconds: number, call: () => PromiseLike<T>, status: number): Promise<void> {
    await eventually(
      async () => {
        const res = await call();
        expect(res.status).toBe(status);
      },
      { timeoutMs: seconds * 1000 + 2000, intervalMs: 250 },
    );
  }

  it('refuses a user who creates dialogs too fast with 429, Retry-After and a JSON error, creates nothing, and lets them go on later', async () => {
    const create = (who: string) => t.http.post('/dialogs').set(t.auth(who)).send({ participantIds: ['zed'] });
    for (let i = 0; i < DIALOG_BURST; i++) await create('dora').expect(201);
    const wait = expectLimited(await create('dora'), 'dialogs');

    // Another user, from the same address, is not held back.
    await create('dave').expect(201);
    expect((await t.http.get('/dialogs').set(t.auth('dora')).expect(200)).body.items).toHaveLength(DIALOG_BURST);

    await letThroughAfter(wait, () => create('dora'), 201);
    expect((await t.http.get('/dialogs').set(t.auth('dora')).expect(200)).body.items).toHaveLength(DIALOG_BURST + 1);
  });

  it('refuses a user who sends too fast, on the native and the OTUS route alike, while the others keep sending', async () => {
    const dialog = (await t.http.post('/dialogs').set(t.auth('sam')).send({ participantIds: ['sue'] }).expect(201)).body.id as string;
    const send = (who: string, text: string) => t.http.post(`/dialogs/${dialog}/messages`).set(t.auth(who)).send({ text });
    const otus = (who: string, to: string, text: string) => t.http.post(`/dialog/${encodeURIComponent(to)}/send`).set(t.auth(who)).send({ text });

    for (let i = 0; i < SEND_BURST - 1; i++) await send('sam', `sam ${i}`).expect(201);
    await otus('sam', 'sue', 'sam otus').expect(200);
    expectLimited(await send('sam', 'too fast'), 'sends');
    const wait = expectLimited(await otus('sam', 'sue', 'too fast'), 'sends');

    // Sue shares the dialog, the address and both routes, and is not held back.
    await send('sue', 'sue 0').expect(201);
    await otus('sue', 'sam', 'sue otus').expect(200);

    // Nothing refused was stored.
    const page = await t.http.get(`/dialogs/${dialog}/messages`).set(t.auth('sue')).expect(200);
    expect((page.body.items as Array<{ text: string }>).filter((m) => m.text === 'too fast')).toEqual([]);

    await letThroughAfter(wait, () => send('sam', 'later'), 201);
    await letThroughAfter(wait, () => otus('sam', 'sue', 'later otus'), 200);
    const list = await t.http.get('/dialog/sam/list').set(t.auth('sue')).expect(200);
    expect(list.body.map((m: { text: string }) => m.text)).toEqual(['sam otus', 'sue otus', 'later otus']);
  });

  it('counts an OTUS send that opens a dialog against the dialog limit, and one to a known user only as a send', async () => {
    const otus = (to: string) => t.http.post(`/dialog/${to}/send`).set(t.auth('olga')).send({ text: 'hi' });
    for (let i = 0; i < DIALOG_BURST; i++) await otus(`friend-${i}`).expect(200);
    const wait = expectLimited(await otus('stranger'), 'dialogs');
    await otus('friend-0').expect(200);
    await t.http.get('/dialog/stranger/list').set(t.auth('olga')).expect(200, []);

    await letThroughAfter(wait, () => otus('stranger'), 200);
    expect((await t.http.get('/dialog/stranger/list').set(t.auth('olga')).expect(200)).body).toEqual([{ from: 'olga', to: 'stranger', text: 'hi' }]);
  });

  it('says so in the OpenAPI document', async () => {
    const { paths } = (await t.http.get('/docs-json').expect(200)).body;
    for (const [path, limit] of [['/dialogs', 'RATE_LIMIT_DIALOGS_PER_MIN'], ['/dialogs/{dialogId}/messages', 'RATE_LIMIT_SENDS_PER_MIN'], ['/dialog/{user_id}/send', 'RATE_LIMIT_SENDS_PER_MIN']]) {
      const tooMany = paths[path].post.responses['429'];
      expect(tooMany.description).toContain(limit);
      expect(tooMany.headers['Retry-After'].schema).toEqual({ type: 'integer' });
    }
    // The OTUS send may open its dialog, so that limit can refuse it too.
    expect(paths['/dialog/{user_id}/send'].post.responses['429'].description).toContain('RATE_LIMIT_DIALOGS_PER_MIN');
  });
});
