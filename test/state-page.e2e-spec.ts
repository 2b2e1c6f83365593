import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import { Browser, chromium, Page } from 'playwright-core';
import { ringHash } from '../src/ring';
import { eventually } from './support/eventually';
import { pageScript } from './support/page-script';
import { TestCluster } from './support/pg-cluster';
import { admin, inSplitArc, startCrawlingSplit } from './support/reshard';
import { TestApp } from './support/test-app';

const ARTIFACTS = path.resolve(__dirname, '..', 'test-artifacts');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

interface Shard {
  name: string;
  point: number | null;
  rows: number;
}

const count = (n: number) => n.toLocaleString('en-US');

/**
 * The state page in real headless Chromium against the real app: what it draws matches the
 * API, it follows writes and a reshard live without a reload, and only operators get in.
 */
describe('the state page', () => {
  let cluster: TestCluster;
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  let base: string;
  let viewer: string;
  const pageErrors: string[] = [];
  /** Dialogs in the upper half of shard-0's arc: what a split of shard-0 moves. */
  const arcDialogs: string[] = [];
  const SECRET = 'the text nobody may read on the state page';

  beforeAll(async () => {
    // A crawling copier, so the page can be seen in the copy phase.
    ({ cluster, t } = await startCrawlingSplit({ listen: true }));
    base = await t.app.getUrl();
    viewer = t.token('ops', { viewer: true });
    while (arcDialogs.length < 30) {
      const dialog = await t.http.post('/dialogs').set(t.auth('alice')).send({ participantIds: ['bob'] }).expect(201);
      if (inSplitArc(dialog.body.id)) arcDialogs.push(dialog.body.id);
    }
    for (const dialogId of arcDialogs) {
      let last = '';
      for (let m = 0; m < 10; m++) {
        last = (await t.http.post(`/dialogs/${dialogId}/messages`).set(t.auth('alice')).send({ text: m === 0 ? SECRET : `seed ${m}` }).expect(201)).body.id;
      }
      // Bob has read each: a read mark per dialog, for the split to move and verify.
      await t.http.post(`/dialogs/${dialogId}/read`).set(t.auth('bob')).send({ messageId: last }).expect(200);
    }
    await mkdir(ARTIFACTS, { recursive: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    // A script error or a blocked inline script/style (CSP) shows up here.
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error') pageErrors.push(msg.text());
    });
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await cluster?.destroy();
  });

  const adminShards = async (): Promise<Shard[]> => (await t.http.get('/admin/shards').set(admin(t)).expect(200)).body;

  /** The shard table as the page shows it: name and point of each row, in order. */
  const tableRows = (): Promise<Array<[string, string]>> =>
    page.$$eval('#shards-body tr[data-shard]', (rows) =>
      rows.map((r) => [r.getAttribute('data-shard')!, r.querySelector('td[data-col=point]')!.textContent!] as [string, string]),
    );
  const markers = (): Promise<Array<[string, string]>> =>
    page.$$eval('svg#ring circle.marker', (dots) => dots.map((d) => [d.getAttribute('data-shard')!, d.getAttribute('data-point')!] as [string, string]));
  const cellText = (shard: string, col: string): Promise<string | null> =>
    page.locator(`#shards-body tr[data-shard="${shard}"] td[data-col=${col}]`).textContent();
  const phaseShown = (): Promise<string | null> => page.locator('#job-phase').getAttribute('data-phase');
  /** A style the browser computed for the first element the selector finds: proof its stylesheet applied. */
  const computedStyle = (selector: string, property: string): Promise<string> =>
    page.evaluate(`getComputedStyle(document.querySelector(${JSON.stringify(selector)}))[${JSON.stringify(property)}]`);

  async function expectPageMatchesApi(): Promise<void> {
    const shards = await adminShards();
    expect(await tableRows()).toEqual(shards.map((s) => [s.name, s.point === null ? 'no arc' : String(s.point)]));
    expect(await markers()).toEqual(shards.filter((s) => s.point !== null).map((s) => [s.name, String(s.point)]));
  }

  it('answers 401, with a page saying how to get a token, to no token and to an ordinary user token', async () => {
    const bare = await t.http.get('/state').expect(401);
    expect(bare.headers['content-type']).toMatch(/^text\/html/);
    expect(bare.text).toContain('token ops --viewer');
    const user = t.token('alice');
    await t.http.get('/state').query({ token: user }).expect(401);
    await t.http.get('/state').set('Authorization', `Bearer ${user}`).expect(401);
    await t.http.get('/state').query({ token: 'not.a.jwt' }).expect(401);
    const data = await t.http.get('/state/data').set(t.auth('alice')).expect(401);
    expect(data.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    await t.http.get('/state/data').expect(401);

    // The same policy as the page's, and its HTML is not to be had as an asset either.
    expect(bare.headers['content-security-policy']).toContain(`script-src 'self'; style-src 'self'`);
    await t.http.get('/state/assets/state.html').expect(404);
    await t.http.get('/state/assets/token-needed.html').expect(404);

    // In the browser too: the status and the instructions, styled by its stylesheet file.
    const res = await page.goto(`${base}/state`);
    expect(res?.status()).toBe(401);
    expect(await page.locator('h1').textContent()).toMatch(/needs a token/);
    expect(await computedStyle('main', 'maxWidth')).toBe('640px');

    // Operators get in, with either kind of token, by query or header.
    await t.http.get('/state').query({ token: viewer }).expect(200).expect('content-type', /^text\/html/);
    await t.http.get('/state').set(admin(t)).expect(200);
    await t.http.get('/state/data').set('Authorization', `Bearer ${viewer}`).expect(200);
    await t.http.get('/state/data').query({ token: t.token('ops', { admin: true }) }).expect(200);
  });

  it('serves its script and styles as files: a CSP of self only, no inline script or style, the phases on the page, and no markup written', async () => {
    const res = await t.http.get('/state').set('Authorization', `Bearer ${viewer}`).expect(200);
    const csp = res.headers['content-security-policy'];
    expect(csp).toContain(`script-src 'self'`);
    expect(csp).toContain(`style-src 'self'`);
    expect(csp).not.toMatch(/unsafe-inline|nonce-/);
    expect(res.text).not.toMatch(/<style|\sstyle=/i);
    const { src, source } = await pageScript(`${base}/state`, res.text);
    expect(src).toBe('state/assets/state-page.browser.js');
    expect(res.text).toContain(`<body data-phases="${['prepare', 'copy', 'verify', 'cutover', 'cleanup', 'done'].join(' ')}">`);
    expect(source).toMatch(/\btextContent\b/);
    expect(source).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });

  it('serves its assets to anyone with their content types, and nothing else from their folder', async () => {
    const css = await t.http.get('/state/assets/state.css').expect(200);
    expect(css.headers['content-type']).toMatch(/^text\/css\b/);
    expect(css.headers['x-content-type-options']).toBe('nosniff');
    expect(css.text).toContain('.moving-arc');
    const tokenCss = await t.http.get('/state/assets/token-needed.css').expect(200);
    expect(tokenCss.headers['content-type']).toMatch(/^text\/css\b/);
    const js = await t.http.get('/state/assets/state-page.browser.js').expect(200);
    expect(js.headers['content-type']).toMatch(/^(text|application)\/javascript\b/);
    expect(js.headers['x-content-type-options']).toBe('nosniff');
    await t.http.get('/state/assets/state-view.js').expect(404);
    await t.http.get('/state/assets/state-view.js.map').expect(404);
    await t.http.get('/state/assets/').expect(404);
    // @fastify/static refuses a path that climbs out (403).
    const climb = await t.http.get('/state/assets/../state.controller.js');
    expect([403, 404]).toContain(climb.status);
  });

  it('gives a viewer token nothing but the state page', async () => {
    const asViewer = { Authorization: `Bearer ${viewer}` };
    await t.http.get('/admin/shards').set(asViewer).expect(403);
    await t.http.get('/admin/ring').set(asViewer).expect(403);
    await t.http.post('/admin/reshard').set(asViewer).send({ split: 'shard-0' }).expect(403);
    await t.http.get('/dialogs').set(asViewer).expect(403);
    await t.http.post('/dialogs').set(asViewer).send({ participantIds: ['bob'] }).expect(403);
  });

  it('draws one marker per ring shard and the same shards as /admin/shards, with no message text', async () => {
    // From here on the page must run without a single error (the 401 above logged one).
    pageErrors.length = 0;
    const res = await page.goto(`${base}/state?token=${viewer}`);
    expect(res?.status()).toBe(200);
    // Its stylesheet file applied under the CSP.
    expect(await computedStyle('main', 'display')).toBe('grid');
    // Two ring shards and the registered spare, which has no arc yet.
    await eventually(async () => expect(await page.locator('#shards-body tr[data-shard]').count()).toBe(3), { timeoutMs: 15_000 });
    await expectPageMatchesApi();
    expect(await cellText('shard-2', 'point')).toBe('no arc');
    expect(await markers()).toHaveLength(2);
    expect(await page.locator('svg#ring path.arc').count()).toBe(2);
    // shard-0 takes palette slot 0 (#4e79a7) from the stylesheet.
    expect(await computedStyle('svg#ring path.arc[data-shard="shard-0"]', 'stroke')).toBe('rgb(78, 121, 167)');
    expect(await page.locator('#instances-body tr[data-instance]').count()).toBe(1);
    expect(await page.locator('#ring-version').textContent()).toBe('v1');
    const data = await t.http.get('/state/data').set('Authorization', `Bearer ${viewer}`).expect(200);
    expect(data.text).not.toContain(SECRET);
    expect(data.text).not.toContain('seed 1');
    expect(await page.content()).not.toContain(SECRET);
  });

  it('shows a sent message without a reload', async () => {
    await page.evaluate('window.sameDocument = true');
    const shards = await adminShards();
    const before = shards.find((s) => s.name === 'shard-0')!.rows;
    await eventually(async () => expect(await cellText('shard-0', 'rows')).toBe(count(before)));
    const dialogId = arcDialogs[0];
    expect(ringHash(dialogId)).toBeLessThan(2147483647);
    await t.http.post(`/dialogs/${dialogId}/messages`).set(t.auth('bob')).send({ text: 'one more' }).expect(201);
    await eventually(async () => expect(await cellText('shard-0', 'rows')).toBe(count(before + 1)), { timeoutMs: 10_000, intervalMs: 100 });
    expect(await page.evaluate('window.sameDocument')).toBe(true);
  });

  it('follows a split live: the moving arc and the copy phase, then done with the new shard on the ring', async () => {
    await page.evaluate('window.sameDocument = true');
    expect(await phaseShown()).toBe('none');
    const started = await t.http.post('/admin/reshard').set(admin(t)).send({ split: 'shard-0' }).expect(202);

    await eventually(async () => expect(await phaseShown()).toBe('copy'), { timeoutMs: 30_000, intervalMs: 100 });
    expect(await page.locator('svg#ring path.moving-arc').count()).toBe(1);
    expect(await page.locator('svg#ring circle.pending-marker[data-shard="shard-2"]').count()).toBe(1);
    expect(await page.locator('#job-progress').getAttribute('role')).toBe('progressbar');
    // Copied rows grow on the page while it copies.
    await eventually(async () => expect(Number(await page.locator('#job-progress').getAttribute('aria-valuenow'))).toBeGreaterThan(0), {
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    await page.screenshot({ path: path.join(ARTIFACTS, 'state-page.png'), fullPage: true });

    await eventually(async () => expect(await phaseShown()).toBe('done'), { timeoutMs: 60_000, intervalMs: 200 });
    const job = (await t.http.get(`/admin/reshard/${started.body.id}`).set(admin(t)).expect(200)).body;
    expect(job.phase).toBe('done');
    await eventually(async () => expect(await markers()).toHaveLength(3));
    await eventually(() => expectPageMatchesApi());
    expect(await page.locator('#job-verification').textContent()).toMatch(/passed/);
    // Messages and read marks, each with what was compared and what differed, as the job says.
    const v = job.verification;
    expect(v).toMatchObject({ passed: true, marksChecked: arcDialogs.length, marksDifferences: 0, marks: [] });
    expect(await page.locator('#job-verification-messages').textContent()).toBe(`messages: ${count(v.checked - v.marksChecked)} checked, no differences`);
    expect(await page.locator('#job-verification-marks').textContent()).toBe(`read marks: ${count(arcDialogs.length)} checked, no differences`);
    expect(await page.locator('svg#ring path.moving-arc').count()).toBe(0);
    // The copier's inserts on shard-2 are still in the one-minute rate window: that is not
    // load to split for.
    expect((await adminShards()).filter((s) => (s as Shard & { splitCandidate: boolean }).splitCandidate)).toEqual([]);
    expect(await page.locator('#shards-body tr.candidate').count()).toBe(0);
    expect(await page.locator(`#jobs-body tr[data-job="${job.id}"]`).textContent()).toContain('done');
    expect(await page.evaluate('window.sameDocument')).toBe(true);

    // The same page on a phone.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: path.join(ARTIFACTS, 'state-page-phone.png'), fullPage: true });
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    expect(pageErrors).toEqual([]);
  });

  it('names the read marks a failed verification found, beside the messages', async () => {
    await page.setViewportSize({ width: 1280, height: 900 });
    // A verification no real split here fails, put into the page's own polls.
    const failed = {
      passed: false,
      checked: 331,
      differences: 4,
      missing: ['m-1'],
      changed: [],
      extra: [],
      marks: ['d-1/alice', 'd-2/bob', 'd-3/carol'],
      marksChecked: 30,
      marksDifferences: 3,
    };
    await page.route('**/state/data', async (route) => {
      const res = await route.fetch();
      const data = await res.json();
      // The split above ended under a minute ago: its job is still in view.
      if (data.job) data.job.verification = failed;
      await route.fulfill({ response: res, json: data });
    });
    try {
      await eventually(async () => expect(await page.locator('#job-verification-marks').textContent()).toBe('read marks: 30 checked, 3 difference(s) (missing or behind d-1/alice, d-2/bob, d-3/carol)'));
      expect(await page.locator('#job-verification-messages').textContent()).toBe('messages: 301 checked, 1 difference(s) (missing m-1)');
      expect(await page.locator('#job-verification').textContent()).toMatch(/^failed/);
    } finally {
      await page.unroute('**/state/data');
    }
    await eventually(async () => expect(await page.locator('#job-verification-marks').textContent()).toMatch(/no differences$/));
    expect(pageErrors).toEqual([]);
  });
});
