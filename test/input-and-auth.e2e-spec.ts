import { JwtService } from '@nestjs/jwt';
import fc from 'fast-check';
import { IncomingHttpHeaders, request as httpRequest } from 'node:http';
import { AddressInfo } from 'node:net';
import { withApiCheck } from './support/openapi';
import { startCluster, TestCluster } from './support/pg-cluster';
import { startTestApp, TestApp } from './support/test-app';

/** Every error is JSON `{ statusCode, error, message }` with the right 4xx; never a 5xx. A 400 or 415 also has a `code`. */
function expectError(res: { status: number; body: Record<string, unknown> }, status: number, message?: RegExp): void {
  expect(res.status).toBe(status);
  expect(res.body).toMatchObject({ statusCode: status, error: expect.any(String), message: expect.any(String) });
  if (status === 400) expect(res.body.code).toMatch(/^(INVALID_INPUT|INVALID_CURSOR)$/);
  if (status === 415) expect(res.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
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
      ['an edit with a clientMessageId', () => t.http.patch(`/dialogs/${dialogId}/messages/${messageId}`).set(t.auth('alice')).send({ text: 'x', clientMessageId: 'k' }), 400, /^unknown property "clientMessageId"; allowed: text$/],
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

  describe('who a dialog is with', () => {
    const create = (who: string, participantIds: string[]) => t.http.post('/dialogs').set(t.auth(who)).send({ participantIds });
    const others = (n: number) => Array.from({ length: n }, (_, i) => `other-${i}`);
    const alone = { statusCode: 400, error: 'Bad Request', message: 'participantIds must name at least one user besides the caller, who is always a participant', code: 'INVALID_INPUT' };

    it.each([
      ['the caller alone', ['solo']],
      ['the caller twice', ['solo', 'solo']],
      ['nobody', []],
    ])('refuses a dialog of its creator alone: %s', async (_name, ids) => {
      const res = await create('solo', ids);
      expect({ status: res.status, body: res.body }).toEqual({ status: 400, body: alone });
      // Nothing was created: the creator has no dialog.
      expect((await t.http.get('/dialogs?summary=false').set(t.auth('solo')).expect(200)).body.items).toEqual([]);
    });

    it('counts the caller and repeats for nothing: 1 to 100 others', async () => {
      const pair = await create('carol', ['dave', 'carol', 'dave']).expect(201);
      expect([...pair.body.participantIds].sort()).toEqual(['carol', 'dave']);
      const full = await create('carol', ['carol', ...others(100), 'other-0']).expect(201);
      expect([...full.body.participantIds].sort()).toEqual(['carol', ...others(100)].sort());
      expectError(await create('carol', others(101)), 400, /^participantIds names 101 users besides the caller; at most 100$/);
    });

    it('refuses an OTUS send to oneself, and creates no dialog for it', async () => {
      const res = await t.http.post('/dialog/solo/send').set(t.auth('solo')).send({ text: 'note to self' });
      expect({ status: res.status, body: res.body }).toEqual({
        status: 400,
        body: { statusCode: 400, error: 'Bad Request', message: "user_id is the caller's own id: a one-to-one dialog needs another user", code: 'INVALID_INPUT' },
      });
      expect((await t.http.get('/dialog/solo/list').set(t.auth('solo')).expect(200)).body).toEqual([]);
      expect((await t.http.get('/dialogs?summary=false').set(t.auth('solo')).expect(200)).body.items).toEqual([]);
    });
  });

  describe('bodies that are not JSON', () => {
    const sends = () => `/dialogs/${dialogId}/messages`;
    const refused = (type: string) => ({
      statusCode: 415,
      error: 'Unsupported Media Type',
      message: `request bodies must be JSON, sent with Content-Type: application/json; this one came ${type}`,
      code: 'UNSUPPORTED_MEDIA_TYPE',
    });
    // Raw requests, as supertest sets a Content-Type for any body.
    let port: number;
    beforeAll(async () => {
      await t.app.listen(0, '127.0.0.1');
      port = (t.app.getHttpServer().address() as AddressInfo).port;
    });
    const inject = (headers: Record<string, string>, payload: string, url = sends()) =>
      new Promise<{ status: number; headers: IncomingHttpHeaders; body: Record<string, unknown> }>((resolve, reject) => {
        const body = Buffer.from(payload);
        const req = httpRequest(
          { host: '127.0.0.1', port, method: 'POST', path: url, headers: { authorization: t.auth('alice').Authorization, 'content-length': String(body.length), ...headers } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
          },
        );
        req.on('error', reject);
        req.end(body);
      });

    it.each([
      // curl -d '{"text":"x"}' without -H 'Content-Type: application/json'
      ['a JSON text sent as a form (curl -d)', 'application/x-www-form-urlencoded', '{"text":"x"}'],
      ['a form', 'application/x-www-form-urlencoded', 'text=x'],
      ['plain text', 'text/plain', '{"text":"x"}'],
      ['plain text with a charset', 'text/plain; charset=utf-8', 'x'],
      ['multipart', 'multipart/form-data; boundary=b', '--b\r\nContent-Disposition: form-data; name="text"\r\n\r\nx\r\n--b--\r\n'],
      ['XML', 'application/xml', '<text>x</text>'],
    ])('415 for %s', async (_name, type, payload) => {
      const res = await inject({ 'content-type': type }, payload);
      expect({ status: res.status, body: res.body }).toEqual({ status: 415, body: refused(`as ${type.split(';')[0]}`) });
    });

    it('415 for a body with no Content-Type at all', async () => {
      const res = await inject({}, '{"text":"x"}');
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect({ status: res.status, body: res.body }).toEqual({ status: 415, body: refused('with no Content-Type') });
    });

    it('400 with one sentence for a JSON route given no body, a JSON null or an empty JSON body', async () => {
      expectError(await inject({}, ''), 400, /^the request needs a JSON object body, sent with Content-Type: application\/json$/);
      expectError(await t.http.post('/dialogs').set(t.auth('alice')), 400, /^the request needs a JSON object body, sent with Content-Type: application\/json$/);
      expectError(await inject({ 'content-type': 'application/json' }, 'null'), 400, /^the body must be a JSON object, not null$/);
      expectError(await inject({ 'content-type': 'application/json' }, ''), 400, /^the body is empty but its Content-Type is application\/json/);
      expectError(await inject({ 'content-type': 'application/json' }, '{"text":'), 400, /^the body is not valid JSON$/);
    });

    it('still serves a body-less POST, whatever empty body type it claims', async () => {
      for (const headers of [{}, { 'content-type': 'application/x-www-form-urlencoded' }, { 'content-type': 'text/plain' }] as Array<Record<string, string>>) {
        const res = await inject(headers, '', '/events/token');
        expect(res.status).toBe(201);
      }
    });

    it('stores nothing from a refused body', async () => {
      await inject({ 'content-type': 'application/x-www-form-urlencoded' }, 'text=from-a-form');
      const page = await t.http.get(sends()).set(t.auth('alice')).expect(200);
      expect(page.body.items.map((m: { text: string }) => m.text)).not.toContain('from-a-form');
    });
  });

  describe('one sentence and a code for each wrong input', () => {
    const admin = () => t.auth('root', { admin: true });
    const cases: Array<[string, () => PromiseLike<{ status: number; body: Record<string, unknown> }>, string]> = [
      ['participantIds as a string', () => t.http.post('/dialogs').set(t.auth('alice')).send({ participantIds: 'bob' }), 'participantIds must be an array of user ids'],
      ['participantIds missing', () => t.http.post('/dialogs').set(t.auth('alice')).send({ title: 't' }), 'participantIds is required'],
      ['a number among participantIds', () => t.http.post('/dialogs').set(t.auth('alice')).send({ participantIds: ['bob', 7] }), 'participantIds must hold user ids, which are strings'],
      ['a title of the wrong type', () => t.http.post('/dialogs').set(t.auth('alice')).send({ participantIds: ['bob'], title: 7 }), 'title must be a string'],
      ['an unknown property of a dialog', () => t.http.post('/dialogs').set(t.auth('alice')).send({ participantIds: ['bob'], titel: 't' }), 'unknown property "titel"; allowed: participantIds, title'],
      ['a JSON array as a dialog', () => t.http.post('/dialogs').set(t.auth('alice')).send(['bob']), 'the body must be a JSON object, not an array'],
      ['an unknown reshard property', () => t.http.post('/admin/reshard').set(admin()).send({ spilt: 'shard-0' }), 'unknown property "spilt"; allowed: split, move, to'],
      ['a reshard shard name of the wrong type', () => t.http.post('/admin/reshard').set(admin()).send({ split: 1 }), 'split must be a string'],
      ['a shard registration with nothing', () => t.http.post('/admin/shards').set(admin()).send({}), 'name is required; url is required'],
      ['an empty text', () => t.http.post(`/dialogs/${dialogId}/messages`).set(t.auth('alice')).send({ text: '' }), 'text must not be empty'],
      ['an unknown property of a send', () => t.http.post(`/dialogs/${dialogId}/messages`).set(t.auth('alice')).send({ txt: 'x' }), 'unknown property "txt"; allowed: text, clientMessageId; text is required'],
      ['a read mark of the wrong type', () => t.http.post(`/dialogs/${dialogId}/read`).set(t.auth('alice')).send({ messageId: 5 }), 'messageId must be a string'],
      ['limit 0', () => t.http.get(`/dialogs/${dialogId}/messages?limit=0`).set(t.auth('alice')), 'limit must be at least 1'],
      ['an unknown query parameter', () => t.http.get('/dialogs?limt=5').set(t.auth('alice')), 'unknown property "limt"; allowed: limit, before, summary'],
      ['a malformed dialog id', () => t.http.get('/dialogs/123').set(t.auth('alice')), 'dialog id must be a UUID'],
    ];

    it.each(cases.map(([name, call, message]) => ({ name, call, message })))('$name', async ({ call, message }) => {
      const res = await call();
      expect({ status: res.status, body: res.body }).toEqual({ status: 400, body: { statusCode: 400, error: 'Bad Request', message, code: 'INVALID_INPUT' } });
    });
  });

  // Postgres text cannot hold NUL, and the driver writes an unpaired UTF-16 surrogate as
  // U+FFFD, so such strings used to fail with a 500 or be stored as someone else's.
  describe('strings Postgres cannot store faithfully', () => {
    const jwt = new JwtService({ secret: 'test-secret', signOptions: { expiresIn: 3600 } });
    const json = (path: string, body: unknown, method: 'post' | 'patch' = 'post') =>
      t.http[method](path).set(t.auth('alice')).send(body as object);
    // Forms are not parsed at all (415), so nothing in them reaches the database either.
    const form = (path: string, body: string, method: 'post' | 'patch' = 'post') =>
      t.http[method](path).set(t.auth('alice')).type('form').send(body);
    const messages = () => `/dialogs/${dialogId}/messages`;
    const message = () => `/dialogs/${dialogId}/messages/${messageId}`;

    const cases: Array<{ name: string; call: () => PromiseLike<{ status: number; body: Record<string, unknown> }>; status: number; message: RegExp }> = [
      { name: 'NUL in a message text (JSON)', call: () => json(messages(), { text: 'a\u0000b' }), status: 400, message: /text.*NUL/ },
      { name: 'NUL in a message text (form)', call: () => form(messages(), 'text=a%00b'), status: 415, message: /^request bodies must be JSON.*application\/x-www-form-urlencoded$/ },
      { name: 'NUL in a clientMessageId (JSON)', call: () => json(messages(), { text: 'x', clientMessageId: 'k\u0000' }), status: 400, message: /clientMessageId.*NUL/ },
      { name: 'NUL in a clientMessageId (form)', call: () => form(messages(), 'text=x&clientMessageId=k%00'), status: 415, message: /^request bodies must be JSON.*application\/x-www-form-urlencoded$/ },
      { name: 'NUL in a PATCH text (JSON)', call: () => json(message(), { text: '\u0000' }, 'patch'), status: 400, message: /text.*NUL/ },
      { name: 'NUL in a PATCH text (form)', call: () => form(message(), 'text=%00', 'patch'), status: 415, message: /^request bodies must be JSON.*application\/x-www-form-urlencoded$/ },
      { name: 'NUL in a dialog title', call: () => json('/dialogs', { participantIds: ['bob'], title: 'lunch\u0000' }), status: 400, message: /title.*NUL/ },
      { name: 'NUL in an OTUS text (form)', call: () => form('/dialog/bob/send', 'text=hi%00'), status: 400, message: /^request bodies must be JSON.*application\/x-www-form-urlencoded$/ },
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
