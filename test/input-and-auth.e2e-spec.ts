import { JwtService } from '@nestjs/jwt';
import fc from 'fast-check';
import { withApiCheck } from './support/openapi';
import { startCluster, TestCluster } from './support/pg-cluster';
import { startTestApp, TestApp } from './support/test-app';

/** Every error is JSON `{ statusCode, error, message }` with the right 4xx; never a 5xx. */
function expectError(res: { status: number; body: Record<string, unknown> }, status: number, message?: RegExp): void {
  expect(res.status).toBe(status);
  expect(res.body).toMatchObject({ statusCode: status, error: expect.any(String), message: expect.any(String) });
  if (message) expect(res.body.message).toMatch(message);
}

describe('authorization and bad input', () => {
  let cluster: TestCluster;
  let t: TestApp;
  let dialogId: string;
  let messageId: string;

  beforeAll(async () => {
    cluster = await startCluster({ shards: 2 });
    t = await withApiCheck(await startTestApp(cluster));
    dialogId = (await t.http.post('/dialogs').set(t.auth('alice')).send({ participantIds: ['bob'] }).expect(201)).body.id;
    messageId = (await t.http.post(`/dialogs/${dialogId}/messages`).set(t.auth('alice')).send({ text: 'hi' }).expect(201)).body.id;
  });

  afterAll(async () => {
    await t?.close();
    await cluster?.destroy();
  });

  describe('tokens', () => {
    const ours = new JwtService({ secret: 'test-secret' });
    const now = Math.floor(Date.now() / 1000);
    const YEAR = 365 * 86_400;
    it.each([
      ['no header', undefined, /bearer/],
      ['not a bearer', 'Basic YWxpY2U6cHc=', /bearer/],
      ['garbage', 'Bearer not.a.jwt', /invalid token/],
      ['signed with another secret', `Bearer ${new JwtService({ secret: 'other' }).sign({ sub: 'alice' }, { expiresIn: 60 })}`, /invalid token/],
      ['expired', `Bearer ${ours.sign({ sub: 'alice' }, { expiresIn: -10 })}`, /expired/],
      ['without sub', `Bearer ${ours.sign({ role: 'admin' }, { expiresIn: 60 })}`, /sub/],
      ['with a 65-character sub', `Bearer ${ours.sign({ sub: 'x'.repeat(65) }, { expiresIn: 60 })}`, /sub/],
      ['alg none', `Bearer ${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"alice"}').toString('base64url')}.`, /invalid token/],
      // A token that never expires is a password that never changes, and a leaked one opens the account for good.
      ['no exp', `Bearer ${ours.sign({ sub: 'alice' })}`, /no exp/],
      ['no exp and no iat', `Bearer ${ours.sign({ sub: 'alice' }, { noTimestamp: true })}`, /no exp/],
      ['an exp ten years after iat', `Bearer ${ours.sign({ sub: 'alice' }, { expiresIn: 10 * YEAR })}`, /lives 3650d.*JWT_MAX_TTL/],
      ['an exp ten years ahead and no iat', `Bearer ${ours.sign({ sub: 'alice', exp: now + 10 * YEAR })}`, /JWT_MAX_TTL/],
      ['an exp a day and a minute after iat', `Bearer ${ours.sign({ sub: 'alice' }, { expiresIn: 86_400 + 60 })}`, /JWT_MAX_TTL/],
      ['an iat and exp a year ahead', `Bearer ${ours.sign({ sub: 'alice', iat: now + YEAR, exp: now + YEAR + 3600 })}`, /JWT_MAX_TTL/],
      ['an admin token with an exp years ahead', `Bearer ${ours.sign({ sub: 'ops', role: 'admin' }, { expiresIn: 5 * YEAR })}`, /JWT_MAX_TTL/],
    ])('401 for %s', async (_name, header, message) => {
      const req = t.http.get('/dialogs');
      const res = header ? await req.set('Authorization', header) : await req;
      expectError(res, 401, message);
    });

    it('accepts a token that lives the whole 24 hours JWT_MAX_TTL allows by default', async () => {
      await t.http.get('/dialogs').set('Authorization', `Bearer ${ours.sign({ sub: 'alice' }, { expiresIn: 86_400 })}`).expect(200);
      await t.http.get('/dialogs').set('Authorization', `Bearer ${ours.sign({ sub: 'alice', exp: now + 3600 }, { noTimestamp: true })}`).expect(200);
      await t.http.get('/dialogs').set(t.auth('alice')).expect(200);
    });

    it('keeps the state page closed to a token with no exp', async () => {
      await t.http.get('/state/data').query({ token: ours.sign({ sub: 'ops', role: 'admin' }) }).expect(401);
      await t.http.get('/state/data').query({ token: ours.sign({ sub: 'ops', role: 'admin' }, { expiresIn: 3600 }) }).expect(200);
    });

    it('keeps /health and /docs open', async () => {
      await t.http.get('/health').expect(200);
      await t.http.get('/docs').expect(200);
      const doc = await t.http.get('/docs-json').expect(200);
      expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/dialogs/{dialogId}/messages', '/admin/ring']));
    });

    it('opens /admin only to role admin', async () => {
      expectError(await t.http.get('/admin/ring').set(t.auth('alice')), 403, /admin/);
      await t.http.get('/admin/ring').set(t.auth('root', { admin: true })).expect(200);
    });
  });

  describe('participants only', () => {
    // Every dialog route, as a call on a dialog id (a message id of that dialog, or any other).
    const routes: Array<[string, (id: string, message: string, who: { Authorization: string }) => PromiseLike<{ status: number; body: Record<string, unknown>; headers: Record<string, string> }>]> = [
      ['GET the dialog', (id, _m, who) => t.http.get(`/dialogs/${id}`).set(who)],
      ['GET its messages', (id, _m, who) => t.http.get(`/dialogs/${id}/messages`).set(who)],
      ['POST a message', (id, _m, who) => t.http.post(`/dialogs/${id}/messages`).set(who).send({ text: 'x' })],
      ['POST a message with a clientMessageId', (id, _m, who) => t.http.post(`/dialogs/${id}/messages`).set(who).send({ text: 'x', clientMessageId: 'k-1' })],
      ['PATCH a message', (id, m, who) => t.http.patch(`/dialogs/${id}/messages/${m}`).set(who).send({ text: 'x' })],
      ['DELETE a message', (id, m, who) => t.http.delete(`/dialogs/${id}/messages/${m}`).set(who)],
      ['POST a read mark', (id, m, who) => t.http.post(`/dialogs/${id}/read`).set(who).send({ messageId: m })],
    ];
    const missing = '00000000-0000-4000-8000-000000000000';
    const notFound = (id: string) => ({ statusCode: 404, error: 'Not Found', message: `dialog ${id} not found`, code: 'DIALOG_NOT_FOUND' });

    // A 403 for an existing dialog but a 404 for a random id told anyone which ids exist.
    it.each(routes)('%s: the same 404 for a dialog one is not in as for one that does not exist', async (_name, call) => {
      const eve = t.auth('eve');
      const hidden = await call(dialogId, messageId, eve);
      const absent = await call(missing, messageId, eve);
      expect({ status: hidden.status, body: hidden.body }).toEqual({ status: 404, body: notFound(dialogId) });
      expect({ status: absent.status, body: absent.body }).toEqual({ status: 404, body: notFound(missing) });
      expect(Object.keys(hidden.headers).sort()).toEqual(Object.keys(absent.headers).sort());
    });

    it('says so in the OpenAPI document', async () => {
      const { paths } = (await t.http.get('/docs-json').expect(200)).body;
      for (const [path, method] of [['/dialogs/{id}', 'get'], ['/dialogs/{dialogId}/messages', 'post'], ['/dialogs/{dialogId}/messages/{messageId}', 'delete']]) {
        expect(paths[path][method].responses['404'].description).toMatch(/not one of its participants \(the same answer for both\)/);
      }
      expect(paths['/dialogs/{dialogId}/messages/{messageId}'].patch.responses['403'].description).toMatch(/NOT_MESSAGE_AUTHOR/);
    });

    it('writes nothing for a non-participant', async () => {
      const page = await t.http.get(`/dialogs/${dialogId}/messages`).set(t.auth('alice')).expect(200);
      expect(page.body.items).toEqual([expect.objectContaining({ id: messageId, text: 'hi', editedAt: null })]);
    });

    it('keeps the 403 for a participant changing another author\'s message', async () => {
      expectError(await t.http.patch(`/dialogs/${dialogId}/messages/${messageId}`).set(t.auth('bob')).send({ text: 'x' }), 403, /author/);
      expectError(await t.http.delete(`/dialogs/${dialogId}/messages/${messageId}`).set(t.auth('bob')), 403, /author/);
    });
  });

  describe('bad input is a 4xx, never a 5xx', () => {
    const cases: Array<[string, () => Promise<{ status: number; body: Record<string, unknown> }>, number, RegExp?]> = [
      ['a malformed dialog id', () => t.http.get('/dialogs/123').set(t.auth('alice')), 400, /UUID/],
      ['a malformed message id', () => t.http.patch(`/dialogs/${dialogId}/messages/xyz`).set(t.auth('alice')).send({ text: 'x' }), 400, /UUID/],
      ['empty text', () => t.http.post(`/dialogs/${dialogId}/messages`).set(t.auth('alice')).send({ text: '' }), 400, /text/],
      ['blank text', () => t.http.post(`/dialogs/${dialogId}/messages`).set(t.auth('alice')).send({ text: '  \n ' }), 400, /blank/],
      ['text over 4096 characters', () => t.http.post(`/dialogs/${dialogId}/messages`).set(t.auth('alice')).send({ text: 'x'.repeat(4097) }), 400, /4096/],
      ['text of the wrong type', () => t.http.post(`/dialogs/${dialogId}/messages`).set(t.auth('alice')).send({ text: 42 }), 400, /text/],
      ['an unknown field', () => t.http.post(`/dialogs/${dialogId}/messages`).set(t.auth('alice')).send({ text: 'x', admin: true }), 400, /admin/],
      ['a too long clientMessageId', () => t.http.post(`/dialogs/${dialogId}/messages`).set(t.auth('alice')).send({ text: 'x', clientMessageId: 'k'.repeat(65) }), 400, /clientMessageId/],
      ['a non-JSON body', () => t.http.post(`/dialogs/${dialogId}/messages`).set(t.auth('alice')).set('Content-Type', 'application/json').send('{"text":'), 400, /JSON/],
      ['a JSON array body', () => t.http.post(`/dialogs/${dialogId}/messages`).set(t.auth('alice')).send([1, 2]), 400],
      ['a huge body', () => t.http.post(`/dialogs/${dialogId}/messages`).set(t.auth('alice')).send({ text: 'x'.repeat(100_000) }), 413],
      ['limit 0', () => t.http.get(`/dialogs/${dialogId}/messages?limit=0`).set(t.auth('alice')), 400, /limit/],
      ['limit 201', () => t.http.get(`/dialogs/${dialogId}/messages?limit=201`).set(t.auth('alice')), 400, /limit/],
      ['limit not a number', () => t.http.get(`/dialogs/${dialogId}/messages?limit=ten`).set(t.auth('alice')), 400, /limit/],
      ['a garbage cursor', () => t.http.get(`/dialogs/${dialogId}/messages?before=%%%`).set(t.auth('alice')), 400],
      ['a forged cursor', () => t.http.get(`/dialogs/${dialogId}/messages?before=${Buffer.from('[1,"messages","x"]').toString('base64url')}`).set(t.auth('alice')), 400, /cursor/],
      ['a messages cursor on /dialogs', () => t.http.get(`/dialogs?before=${Buffer.from(JSON.stringify([1, 'messages', messageId])).toString('base64url')}`).set(t.auth('alice')), 400, /cursor/],
      ['participantIds missing', () => t.http.post('/dialogs').set(t.auth('alice')).send({}), 400, /participantIds/],
      ['participantIds empty', () => t.http.post('/dialogs').set(t.auth('alice')).send({ participantIds: [] }), 400, /participantIds/],
      ['a 65-character participant', () => t.http.post('/dialogs').set(t.auth('alice')).send({ participantIds: ['u'.repeat(65)] }), 400, /participant/],
      ['too many participants', () => t.http.post('/dialogs').set(t.auth('alice')).send({ participantIds: Array.from({ length: 101 }, (_, i) => `u${i}`) }), 400, /participantIds/],
      ['an OTUS user id over 64 characters', () => t.http.post(`/dialog/${'u'.repeat(65)}/send`).set(t.auth('alice')).send({ text: 'x' }), 400, /user id/],
      ['an OTUS send without text', () => t.http.post('/dialog/bob/send').set(t.auth('alice')).send({}), 400, /text/],
      ['an OTUS send of blank text', () => t.http.post('/dialog/bob/send').set(t.auth('alice')).send({ text: ' \t' }), 400, /^text must not be blank$/],
      ['an OTUS send over 4096 characters', () => t.http.post('/dialog/bob/send').set(t.auth('alice')).send({ text: 'x'.repeat(4097) }), 400, /4096/],
      ['an edit to blank text', () => t.http.patch(`/dialogs/${dialogId}/messages/${messageId}`).set(t.auth('alice')).send({ text: '\n' }), 400, /^text must not be blank$/],
      ['an edit with a clientMessageId', () => t.http.patch(`/dialogs/${dialogId}/messages/${messageId}`).set(t.auth('alice')).send({ text: 'x', clientMessageId: 'k' }), 400, /clientMessageId should not exist/],
      ['an unknown route', () => t.http.get('/nope').set(t.auth('alice')), 404],
    ];

    // Objects, not rows: rows without the optional pattern would make jest pass `done` in its place.
    it.each(cases.map(([name, call, status, message]) => ({ name, call, status, message })))(
      '$name',
      async ({ call, status, message }) => {
        expectError(await call(), status, message);
      },
    );
  });

  // Postgres text cannot hold NUL, and the driver writes an unpaired UTF-16 surrogate as
  // U+FFFD, so such strings used to fail with a 500 or be stored as someone else's.
  describe('strings Postgres cannot store faithfully', () => {
    const jwt = new JwtService({ secret: 'test-secret', signOptions: { expiresIn: 3600 } });
    const json = (path: string, body: unknown, method: 'post' | 'patch' = 'post') =>
      t.http[method](path).set(t.auth('alice')).send(body as object);
    const form = (path: string, body: string, method: 'post' | 'patch' = 'post') =>
      t.http[method](path).set(t.auth('alice')).type('form').send(body);
    const messages = () => `/dialogs/${dialogId}/messages`;
    const message = () => `/dialogs/${dialogId}/messages/${messageId}`;

    const cases: Array<{ name: string; call: () => PromiseLike<{ status: number; body: Record<string, unknown> }>; status: number; message: RegExp }> = [
      { name: 'NUL in a message text (JSON)', call: () => json(messages(), { text: 'a\u0000b' }), status: 400, message: /text.*NUL/ },
      { name: 'NUL in a message text (form)', call: () => form(messages(), 'text=a%00b'), status: 400, message: /text.*NUL/ },
      { name: 'NUL in a clientMessageId (JSON)', call: () => json(messages(), { text: 'x', clientMessageId: 'k\u0000' }), status: 400, message: /clientMessageId.*NUL/ },
      { name: 'NUL in a clientMessageId (form)', call: () => form(messages(), 'text=x&clientMessageId=k%00'), status: 400, message: /clientMessageId.*NUL/ },
      { name: 'NUL in a PATCH text (JSON)', call: () => json(message(), { text: '\u0000' }, 'patch'), status: 400, message: /text.*NUL/ },
      { name: 'NUL in a PATCH text (form)', call: () => form(message(), 'text=%00', 'patch'), status: 400, message: /text.*NUL/ },
      { name: 'NUL in a dialog title', call: () => json('/dialogs', { participantIds: ['bob'], title: 'lunch\u0000' }), status: 400, message: /title.*NUL/ },
      { name: 'NUL in an OTUS text (form)', call: () => form('/dialog/bob/send', 'text=hi%00'), status: 400, message: /text.*NUL/ },
      { name: 'a lone surrogate in a message text', call: () => json(messages(), { text: 'a\ud800b' }), status: 400, message: /text.*well-formed/ },
      { name: 'a lone surrogate in a PATCH text', call: () => json(message(), { text: '\udc00' }, 'patch'), status: 400, message: /text.*well-formed/ },
      { name: 'a lone surrogate in a clientMessageId', call: () => json(messages(), { text: 'x', clientMessageId: '\udbff' }), status: 400, message: /clientMessageId.*well-formed/ },
      { name: 'a lone surrogate in a dialog title', call: () => json('/dialogs', { participantIds: ['bob'], title: 't\udfff' }), status: 400, message: /title.*well-formed/ },
      { name: 'a lone surrogate in a participant id', call: () => json('/dialogs', { participantIds: ['b\ud800'] }), status: 400, message: /participantIds\[0\].*well-formed/ },
      { name: 'a lone surrogate in an unknown property name', call: () => json(messages(), { text: 'x', ['\ud800']: 1 }), status: 400, message: /well-formed/ },
      { name: 'a lone surrogate in an OTUS text', call: () => json('/dialog/bob/send', { text: '\ud800' }), status: 400, message: /text.*well-formed/ },
      {
        name: 'a token whose sub has a lone surrogate',
        call: () => t.http.post('/dialogs').set('Authorization', `Bearer ${jwt.sign({ sub: 'mallory\ud800' })}`).send({ participantIds: ['bob'] }),
        status: 401,
        message: /token sub/,
      },
    ];

    it.each(cases)('$name', async ({ call, status, message }) => {
      expectError(await call(), status, message);
    });

    it('keeps two token subjects that differ only in a lone surrogate apart: neither gets in', async () => {
      for (const sub of ['eve\ud800', 'eve\udc00']) {
        expectError(await t.http.get('/dialogs').set('Authorization', `Bearer ${jwt.sign({ sub })}`), 401, /token sub/);
      }
    });

    it('still stores any well-formed text exactly, pairs, joiners and control characters included', async () => {
      const text = 'ok \ud83d\ude00 \u200d\u00e9\t\n\u0001 \u202e';
      const sent = await json(messages(), { text, clientMessageId: '\ud83d\udd11-1' }).expect(201);
      expect(sent.body.text).toBe(text);
      const title = '\ud83c\udf55 night';
      const dialog = await json('/dialogs', { participantIds: ['b\ud83d\ude00b'], title }).expect(201);
      expect(dialog.body).toMatchObject({ title, participantIds: expect.arrayContaining(['b\ud83d\ude00b']) });
    });
  });

  describe('deeply nested bodies', () => {
    const nested = (depth: number) => `{"zz":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    const routes: Array<[string, 'post' | 'patch', () => string, { admin?: boolean }]> = [
      ['POST /dialogs', 'post', () => '/dialogs', {}],
      ['POST messages', 'post', () => `/dialogs/${dialogId}/messages`, {}],
      ['PATCH a message', 'patch', () => `/dialogs/${dialogId}/messages/${messageId}`, {}],
      ['POST OTUS send', 'post', () => '/dialog/bob/send', {}],
      ['POST /admin/shards', 'post', () => '/admin/shards', { admin: true }],
      ['POST /admin/reshard', 'post', () => '/admin/reshard', { admin: true }],
      ['POST /admin/reshard/:id/cancel', 'post', () => '/admin/reshard/00000000-0000-4000-8000-000000000000/cancel', { admin: true }],
    ];
    const cases = routes.flatMap(([name, method, path, opts]) =>
      // 30,000 levels still fit the 64 KiB body limit.
      [300, 3000, 30_000].map((depth) => ({ name, method, path, opts, depth })),
    );

    it.each(cases)('$name refuses $depth levels with a 400', async ({ method, path, opts, depth }) => {
      const res = await t.http[method](path()).set(t.auth('root', opts)).set('Content-Type', 'application/json').send(nested(depth));
      expectError(res, 400, /nest/);
    });
  });

  describe('malformed GET /dialogs cursors', () => {
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const uuid = '00000000-0000-4000-8000-000000000000';
    const at = '2026-11-22 10:00:00.123456+00';
    const cursors: Array<[string, string]> = [
      ['numbers for both parts', b64([1, 'dialogs', 1, 2])],
      ['words for both parts', b64([1, 'dialogs', 'x', 'y'])],
      ['a date that is no timestamp', b64([1, 'dialogs', 'yesterday', uuid])],
      ['month 13', b64([1, 'dialogs', '2026-13-01 00:00:00+00', uuid])],
      ['February 30', b64([1, 'dialogs', '2026-02-30 00:00:00+00', uuid])],
      ['hour 24', b64([1, 'dialogs', '2026-01-01 24:00:01+00', uuid])],
      ['an offset of 99 hours', b64([1, 'dialogs', '2026-01-01 00:00:00+99', uuid])],
      ['year zero', b64([1, 'dialogs', '0000-01-01 00:00:00+00', uuid])],
      ['a timestamp with a NUL', b64([1, 'dialogs', `${at}\u0000`, uuid])],
      ['a non-uuid id', b64([1, 'dialogs', at, 'not-a-uuid'])],
      ['a uuid with a NUL', b64([1, 'dialogs', at, `${uuid}\u0000`])],
      ['the parts swapped', b64([1, 'dialogs', uuid, at])],
      ['an object part', b64([1, 'dialogs', { at }, uuid])],
      ['a null part', b64([1, 'dialogs', null, uuid])],
      ['three parts', b64([1, 'dialogs', at, uuid, uuid])],
    ];

    it.each(cursors)('400 for %s', async (_name, before) => {
      expectError(await t.http.get('/dialogs').query({ before }).set(t.auth('alice')), 400, /cursor/);
    });

    it('answers 200 or 400 for any key, never a 5xx: the check and Postgres agree', async () => {
      const pad = (n: number, width: number) => String(Math.abs(n)).padStart(width, '0');
      // Timestamps near the accepted form, every field allowed out of range.
      const nearTimestamp = fc
        .tuple(
          fc.integer({ min: 0, max: 10_999 }),
          fc.integer({ min: 0, max: 13 }),
          fc.integer({ min: 0, max: 32 }),
          fc.integer({ min: 0, max: 25 }),
          fc.integer({ min: 0, max: 61 }),
          fc.integer({ min: 0, max: 61 }),
          fc.integer({ min: -16, max: 16 }),
          fc.option(fc.integer({ min: 0, max: 61 })),
          fc.option(fc.integer({ min: 0, max: 9_999_999 })),
        )
        .map(([y, mo, d, h, mi, sec, off, offMin, frac]) =>
          `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)} ${pad(h, 2)}:${pad(mi, 2)}:${pad(sec, 2)}` +
          `${frac === null ? '' : `.${frac}`}${off < 0 ? '-' : '+'}${pad(off, 2)}${offMin === null ? '' : `:${pad(offMin, 2)}`}`,
        );
      const part = fc.oneof(nearTimestamp, fc.uuid(), fc.string({ maxLength: 40 }), fc.jsonValue({ maxDepth: 2 }));
      await fc.assert(
        fc.asyncProperty(part, part, async (a, b) => {
          const res = await t.http.get('/dialogs').query({ before: b64([1, 'dialogs', a, b]) }).set(t.auth('alice'));
          // A long key makes a cursor over the 512 characters `before` may have.
          if (res.status !== 200) expectError(res, 400, /cursor|before/);
        }),
        { numRuns: 300 },
      );
    });

    it('still accepts a well-formed key, in any offset Postgres prints', async () => {
      for (const key of [at, '2026-11-22 10:00:00+00', '2026-11-22 15:30:00.5+05:30', '1901-12-13 20:45:52-00:09:21']) {
        await t.http.get('/dialogs').query({ before: b64([1, 'dialogs', key, uuid]) }).set(t.auth('alice')).expect(200);
      }
    });
  });
});
