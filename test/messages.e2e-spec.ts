import { ActivityService } from '../src/dialogs/activity.service';
import { directKey } from '../src/dialogs/dialogs.service';
import { ringHash } from '../src/ring';
import { withApiCheck } from './support/openapi';
import { startCluster, TestCluster } from './support/pg-cluster';
import { sql, startTestApp, TestApp } from './support/test-app';

describe('dialogs and messages on real shards', () => {
  let cluster: TestCluster;
  let t: TestApp;

  beforeAll(async () => {
    cluster = await startCluster({ shards: 2 });
    t = await withApiCheck(await startTestApp(cluster));
  });

  afterAll(async () => {
    await t?.close();
    await cluster?.destroy();
  });

  async function dialogWith(creator: string, others: string[], title?: string): Promise<string> {
    const res = await t.http.post('/dialogs').set(t.auth(creator)).send({ participantIds: others, title }).expect(201);
    return res.body.id as string;
  }

  /** Dialogs until both shards own at least one, so every test sees both sides of the ring. */
  async function dialogsOnBothShards(): Promise<Record<'shard-0' | 'shard-1', string>> {
    const found: Partial<Record<'shard-0' | 'shard-1', string>> = {};
    while (!found['shard-0'] || !found['shard-1']) {
      const id = await dialogWith('alice', ['bob']);
      found[ringHash(id) < 2147483647 ? 'shard-0' : 'shard-1'] ??= id;
    }
    return found as Record<'shard-0' | 'shard-1', string>;
  }

  it('creates a dialog with the caller as a participant and reads it back', async () => {
    const created = await t.http
      .post('/dialogs')
      .set(t.auth('alice'))
      .send({ participantIds: ['bob', 'carol', 'bob'], title: 'weekend' })
      .expect(201);
    expect(created.body).toMatchObject({ kind: 'group', title: 'weekend', participantIds: ['alice', 'bob', 'carol'], createdBy: 'alice' });
    const got = await t.http.get(`/dialogs/${created.body.id}`).set(t.auth('carol')).expect(200);
    expect(got.body).toEqual(created.body);
  });

  it('stores a message on the shard the ring names, and only there', async () => {
    const dialogs = await dialogsOnBothShards();
    for (const [shard, dialogId] of Object.entries(dialogs)) {
      const sent = await t.http.post(`/dialogs/${dialogId}/messages`).set(t.auth('bob')).send({ text: `to ${shard}` }).expect(201);
      expect(sent.body).toMatchObject({ dialogId, authorId: 'bob', text: `to ${shard}` });
      const route = await t.http.get(`/admin/route/${dialogId}`).set(t.auth('ops', { admin: true })).expect(200);
      expect(route.body).toEqual({ dialogId, hash: ringHash(dialogId), shard, reads: [shard] });

      const owner = shard === 'shard-0' ? 0 : 1;
      const onOwner = await sql(cluster.shardUrls[owner], 'SELECT text, ring_hash FROM messages WHERE id = $1', [sent.body.id]);
      const onOther = await sql(cluster.shardUrls[1 - owner], 'SELECT 1 FROM messages WHERE id = $1', [sent.body.id]);
      expect(onOwner).toEqual([{ text: `to ${shard}`, ring_hash: String(ringHash(dialogId)) }]);
      expect(onOther).toEqual([]);
    }
  });

  it('pages newest first and returns every message exactly once while sends continue', async () => {
    const dialogId = await dialogWith('alice', ['bob']);
    const send = (i: number) =>
      t.http.post(`/dialogs/${dialogId}/messages`).set(t.auth(i % 2 ? 'alice' : 'bob')).send({ text: `m${i}` }).expect(201);
    const before = await Promise.all(Array.from({ length: 60 }, (_, i) => send(i)));
    const existing = new Set(before.map((r) => r.body.id as string));

    // Pages are read while 40 more sends are in flight.
    const concurrent = Promise.all(Array.from({ length: 40 }, (_, i) => send(100 + i)));
    const seen: string[] = [];
    let cursor: string | null = null;
    let first = true;
    while (first || cursor) {
      first = false;
      const page: { body: { items: { id: string }[]; nextCursor: string | null } } = await t.http
        .get(`/dialogs/${dialogId}/messages`)
        .query(cursor ? { limit: 7, before: cursor } : { limit: 7 })
        .set(t.auth('bob'))
        .expect(200);
      seen.push(...page.body.items.map((m) => m.id));
      cursor = page.body.nextCursor;
    }
    const after = await concurrent;

    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort().reverse()).toEqual(seen);
    // Everything older than the first page's newest message is there; nothing is invented.
    const newestSeen = seen[0];
    const all = [...existing, ...after.map((r) => r.body.id as string)];
    expect(new Set(seen)).toEqual(new Set(all.filter((id) => id <= newestSeen)));
    for (const id of existing) expect(seen).toContain(id);

    const full = await t.http.get(`/dialogs/${dialogId}/messages`).query({ limit: 200 }).set(t.auth('alice')).expect(200);
    expect(full.body.items).toHaveLength(100);
    expect(full.body.nextCursor).toBeNull();
  });

  it('returns the first message again for a retried clientMessageId, never a duplicate', async () => {
    const dialogId = await dialogWith('alice', ['bob']);
    const body = { text: 'only once', clientMessageId: 'phone-42' };
    const first = await t.http.post(`/dialogs/${dialogId}/messages`).set(t.auth('alice')).send(body).expect(201);
    const retries = await Promise.all(
      Array.from({ length: 5 }, () => t.http.post(`/dialogs/${dialogId}/messages`).set(t.auth('alice')).send(body)),
    );
    for (const retry of retries) {
      expect(retry.status).toBe(200);
      expect(retry.body).toEqual(first.body);
    }
    // The same key from another author is another message.
    const bobs = await t.http.post(`/dialogs/${dialogId}/messages`).set(t.auth('bob')).send(body).expect(201);
    expect(bobs.body.id).not.toBe(first.body.id);
    const list = await t.http.get(`/dialogs/${dialogId}/messages`).set(t.auth('alice')).expect(200);
    expect(list.body.items.map((m: { id: string }) => m.id)).toEqual([bobs.body.id, first.body.id]);
  });

  it('answers a clientMessageId retried after its message was deleted with 410 naming it, and sends nothing', async () => {
    const dialogId = await dialogWith('alice', ['bob']);
    const url = `/dialogs/${dialogId}/messages`;
    const body = { text: 'oops', clientMessageId: 'phone-7' };
    const first = await t.http.post(url).set(t.auth('alice')).send(body).expect(201);
    // An edited message is still the one a retry gets back.
    await t.http.patch(`${url}/${first.body.id}`).set(t.auth('alice')).send({ text: 'oops, edited' }).expect(200);
    expect((await t.http.post(url).set(t.auth('alice')).send(body).expect(200)).body).toMatchObject({ id: first.body.id, text: 'oops, edited' });

    await t.http.delete(`${url}/${first.body.id}`).set(t.auth('alice')).expect(204);
    for (const retry of [body, { ...body, text: 'other text' }]) {
      const gone = await t.http.post(url).set(t.auth('alice')).send(retry);
      expect(gone.status).toBe(410);
      expect(gone.headers['content-type']).toMatch(/^application\/json/);
      expect(gone.body).toEqual({
        statusCode: 410,
        error: 'Gone',
        message: expect.stringMatching(new RegExp(`message ${first.body.id}.*was deleted`)),
        code: 'MESSAGE_DELETED',
        messageId: first.body.id,
      });
    }
    expect((await t.http.get(url).set(t.auth('alice')).expect(200)).body.items).toEqual([]);
    // A new key posts again; another author's same key was never the deleted message.
    await t.http.post(url).set(t.auth('alice')).send({ ...body, clientMessageId: 'phone-8' }).expect(201);
    await t.http.post(url).set(t.auth('bob')).send(body).expect(201);

    const doc = (await t.http.get('/docs-json').expect(200)).body;
    expect(doc.paths['/dialogs/{dialogId}/messages'].post.responses['410'].description).toMatch(/MESSAGE_DELETED/);
    // The schemas that validate a send and a page query are the ones documented.
    const send = doc.paths['/dialogs/{dialogId}/messages'].post.requestBody.content['application/json'].schema;
    expect(send).toMatchObject({ required: ['text'], additionalProperties: false, properties: { text: { maxLength: 4096 }, clientMessageId: { maxLength: 64 } } });
    // An edit and an OTUS send take the same text, by the same rule.
    for (const [path, method] of [['/dialogs/{dialogId}/messages/{messageId}', 'patch'], ['/dialog/{user_id}/send', 'post']]) {
      const body = doc.paths[path][method].requestBody.content['application/json'].schema;
      expect(body).toEqual({ type: 'object', properties: { text: send.properties.text }, required: ['text'], additionalProperties: false });
    }
    expect(send.properties.text).toEqual({ type: 'string', minLength: 1, maxLength: 4096, pattern: '\\S' });
    const query = doc.paths['/dialogs/{dialogId}/messages'].get.parameters.filter((p: { in: string }) => p.in === 'query');
    expect(query.map((p: { name: string; schema: object }) => [p.name, p.schema])).toEqual([
      ['limit', expect.objectContaining({ type: 'integer', minimum: 1, maximum: 200 })],
      ['before', expect.objectContaining({ type: 'string', maxLength: 512 })],
    ]);
  });

  it('lets authors edit and delete their own messages, and only those', async () => {
    const dialogId = await dialogWith('alice', ['bob']);
    const sent = await t.http.post(`/dialogs/${dialogId}/messages`).set(t.auth('alice')).send({ text: 'draft' }).expect(201);
    const url = `/dialogs/${dialogId}/messages/${sent.body.id}`;

    const edited = await t.http.patch(url).set(t.auth('alice')).send({ text: 'final' }).expect(200);
    expect(edited.body).toMatchObject({ id: sent.body.id, text: 'final' });
    expect(edited.body.editedAt).toEqual(expect.any(String));

    await t.http.patch(url).set(t.auth('bob')).send({ text: 'hijack' }).expect(403);
    await t.http.delete(url).set(t.auth('bob')).expect(403);

    await t.http.delete(url).set(t.auth('alice')).expect(204);
    await t.http.delete(url).set(t.auth('alice')).expect(204);
    await t.http.patch(url).set(t.auth('alice')).send({ text: 'again' }).expect(404);
    const list = await t.http.get(`/dialogs/${dialogId}/messages`).set(t.auth('bob')).expect(200);
    expect(list.body.items).toEqual([]);

    // A tombstone, not a removal: the row stays, its text is gone.
    const shard = ringHash(dialogId) < 2147483647 ? 0 : 1;
    const [row] = await sql<{ text: string; deleted_at: Date | null }>(
      cluster.shardUrls[shard],
      'SELECT text, deleted_at FROM messages WHERE id = $1',
      [sent.body.id],
    );
    expect(row.text).toBe('');
    expect(row.deleted_at).toBeInstanceOf(Date);

    const unknown = `${dialogId.slice(0, 24)}000000000000`;
    await t.http.delete(`/dialogs/${dialogId}/messages/${unknown}`).set(t.auth('alice')).expect(404);
  });

  it('lists the caller\'s dialogs by most recent activity, paginated', async () => {
    const user = `lister-${Date.now()}`;
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await dialogWith(user, ['bob'], `d${i}`));
    // Activity in the oldest dialog moves it to the top once the coalesced update lands.
    await t.http.post(`/dialogs/${ids[0]}/messages`).set(t.auth(user)).send({ text: 'bump' }).expect(201);
    await t.app.get(ActivityService).flush();

    const first = await t.http.get('/dialogs').query({ limit: 2 }).set(t.auth(user)).expect(200);
    expect(first.body.items.map((d: { id: string }) => d.id)).toEqual([ids[0], ids[2]]);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await t.http.get('/dialogs').query({ limit: 2, before: first.body.nextCursor }).set(t.auth(user)).expect(200);
    expect(second.body.items.map((d: { id: string }) => d.id)).toEqual([ids[1]]);
    expect(second.body.nextCursor).toBeNull();
  });

  it('speaks the OTUS pair: send answers 200 with an empty body, list is [{from,to,text}] oldest first', async () => {
    const send = await t.http.post('/dialog/otus-bob/send').set(t.auth('otus-alice')).send({ text: 'hi bob' }).expect(200);
    expect(send.text).toBe('');
    await t.http.post('/dialog/otus-alice/send').set(t.auth('otus-bob')).send({ text: 'hi alice' }).expect(200);
    await t.http.post('/dialog/otus-bob/send').set(t.auth('otus-alice')).send({ text: 'how are you?' }).expect(200);

    const list = await t.http.get('/dialog/otus-bob/list').set(t.auth('otus-alice')).expect(200);
    expect(list.body).toEqual([
      { from: 'otus-alice', to: 'otus-bob', text: 'hi bob' },
      { from: 'otus-bob', to: 'otus-alice', text: 'hi alice' },
      { from: 'otus-alice', to: 'otus-bob', text: 'how are you?' },
    ]);
    // Both users see the same one dialog.
    const other = await t.http.get('/dialog/otus-alice/list').set(t.auth('otus-bob')).expect(200);
    expect(other.body).toEqual(list.body);
    const dialogs = await t.http.get('/dialogs').set(t.auth('otus-bob')).expect(200);
    expect(dialogs.body.items).toHaveLength(1);
    expect(dialogs.body.items[0]).toMatchObject({ kind: 'direct', participantIds: ['otus-alice', 'otus-bob'] });
  });

  it('answers an OTUS list of two users with no dialog [] and creates nothing; the first send creates it', async () => {
    const count = async () => Number((await sql<{ n: string }>(cluster.dialogDbUrl, 'SELECT count(*) AS n FROM dialogs'))[0].n);
    const before = await count();
    for (let i = 0; i < 3; i++) {
      expect((await t.http.get('/dialog/otus-stranger/list').set(t.auth('otus-reader')).expect(200)).body).toEqual([]);
    }
    expect((await t.http.get('/dialog/otus-reader/list').set(t.auth('otus-stranger')).expect(200)).body).toEqual([]);
    expect(await count()).toBe(before);
    const pair = await sql(cluster.dialogDbUrl, 'SELECT 1 FROM dialogs WHERE direct_key = $1', [directKey('otus-reader', 'otus-stranger')]);
    expect(pair).toEqual([]);
    for (const user of ['otus-reader', 'otus-stranger']) {
      expect((await t.http.get('/dialogs').set(t.auth(user)).expect(200)).body.items).toEqual([]);
    }

    // A miss is not remembered: the dialog the first send creates is listed at once.
    await t.http.post('/dialog/otus-stranger/send').set(t.auth('otus-reader')).send({ text: 'hello' }).expect(200);
    expect(await count()).toBe(before + 1);
    const expected = [{ from: 'otus-reader', to: 'otus-stranger', text: 'hello' }];
    expect((await t.http.get('/dialog/otus-stranger/list').set(t.auth('otus-reader')).expect(200)).body).toEqual(expected);
    expect((await t.http.get('/dialog/otus-reader/list').set(t.auth('otus-stranger')).expect(200)).body).toEqual(expected);
  });

  it('shows the ring and the shards to admins', async () => {
    const admin = t.auth('ops', { admin: true });
    const ring = await t.http.get('/admin/ring').set(admin).expect(200);
    expect(ring.body).toEqual({
      version: 1,
      points: [
        { point: 0, shard: 'shard-0' },
        { point: 2147483647, shard: 'shard-1' },
      ],
    });
    const shards = await t.http.get('/admin/shards').set(admin).expect(200);
    expect(shards.body.map((s: { name: string }) => s.name)).toEqual(['shard-0', 'shard-1']);
    for (const [i, s] of (shards.body as Array<Record<string, unknown>>).entries()) {
      const [{ n }] = await sql<{ n: string }>(cluster.shardUrls[i], 'SELECT count(*) AS n FROM messages');
      expect(s).toMatchObject({ point: i === 0 ? 0 : 2147483647, rows: Number(n), healthy: true, status: 'active' });
      expect(s.arcShare).toBeCloseTo(0.5, 6);
      expect(s.bytes).toBeGreaterThan(0);
    }
    const health = await t.http.get('/health').expect(200);
    expect(health.body).toEqual({ status: 'ok', databases: { dialogdb: 'up', 'shard-0': 'up', 'shard-1': 'up' } });
  });
});
