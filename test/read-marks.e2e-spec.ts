import { AddressInfo } from 'node:net';
import { Client } from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { ringHash } from '../src/ring';
import { eventually } from './support/eventually';
import { withApiCheck } from './support/openapi';
import { startCluster, TestCluster } from './support/pg-cluster';
import { SseClient } from './support/sse-client';
import { sql, startTestApp, TestApp } from './support/test-app';

interface ListItem {
  id: string;
  unreadCount?: number | null;
  lastMessage?: { id: string; authorId: string; text: string; createdAt: string } | null;
}

/** Read marks, unread counts and the last message on real shards (two of them), and the `dialog.read` event. */
describe('read marks, unread counts and the last message', () => {
  let cluster: TestCluster;
  let t: TestApp;

  beforeAll(async () => {
    cluster = await startCluster({ shards: 2 });
    // Statements wait for a lock as long as a test holds it, never giving up as unavailable
    // at the default 5 s: a list that ran one while read marks are locked cannot answer.
    t = await withApiCheck(await startTestApp(cluster, { DB_STATEMENT_TIMEOUT_MS: '60000' }));
    await t.app.listen(0, '127.0.0.1');
  });

  afterAll(async () => {
    await t?.close();
    await cluster?.destroy();
  });

  /** The index of the shard that owns a dialog on the two-shard ring. */
  const shardOf = (dialogId: string) => (ringHash(dialogId) < 2147483647 ? 0 : 1);

  /** A dialog of alice and bob on the given shard. */
  async function dialogOn(shard: number, others = ['bob']): Promise<string> {
    for (;;) {
      const res = await t.http.post('/dialogs').set(t.auth('alice')).send({ participantIds: others }).expect(201);
      if (shardOf(res.body.id) === shard) return res.body.id as string;
    }
  }

  const send = async (user: string, dialogId: string, text: string): Promise<string> =>
    (await t.http.post(`/dialogs/${dialogId}/messages`).set(t.auth(user)).send({ text }).expect(201)).body.id as string;
  const markRead = (user: string, dialogId: string, messageId: unknown) => t.http.post(`/dialogs/${dialogId}/read`).set(t.auth(user)).send({ messageId });

  /** Every page of a user's dialogs, in order; `query` adds to each page's `limit` and `before`. */
  async function list(user: string, query: Record<string, string | number> = {}): Promise<Map<string, ListItem>> {
    const items: ListItem[] = [];
    let before: string | null = null;
    do {
      const res: { body: { items: ListItem[]; nextCursor: string | null } } = await t.http
        .get('/dialogs')
        .query({ limit: 200, ...query, ...(before ? { before } : {}) })
        .set(t.auth(user))
        .expect(200);
      items.push(...res.body.items);
      before = res.body.nextCursor;
    } while (before);
    return new Map(items.map((i) => [i.id, i]));
  }

  /** Statements on a shard waiting for a lock on read_marks: the list's summary statements, held up. */
  const waitingOnReadMarks = async (url: string): Promise<number> =>
    Number(
      (
        await sql<{ n: string }>(
          url,
          `SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%read_marks%' AND pid <> pg_backend_pid()`,
        )
      )[0].n,
    );

  it('moves a mark forward only: an older message is a no-op, answered with the mark in force', async () => {
    const dialogId = await dialogOn(0);
    const [m1, m2, m3] = [await send('bob', dialogId, 'one'), await send('bob', dialogId, 'two'), await send('bob', dialogId, 'three')];
    expect((await markRead('alice', dialogId, m2).expect(200)).body).toEqual({ dialogId, userId: 'alice', messageId: m2 });
    expect((await markRead('alice', dialogId, m1).expect(200)).body).toEqual({ dialogId, userId: 'alice', messageId: m2 });
    expect((await markRead('alice', dialogId, m2.toUpperCase()).expect(200)).body).toEqual({ dialogId, userId: 'alice', messageId: m2 });
    expect((await list('alice')).get(dialogId)?.unreadCount).toBe(1);
    expect((await markRead('alice', dialogId, m3).expect(200)).body).toEqual({ dialogId, userId: 'alice', messageId: m3 });
    // Bob's mark is his own.
    expect((await markRead('bob', dialogId, m1).expect(200)).body).toEqual({ dialogId, userId: 'bob', messageId: m1 });
    const stored = await sql<{ user_id: string; message_id: string }>(cluster.shardUrls[0], 'SELECT user_id, message_id FROM read_marks WHERE dialog_id = $1 ORDER BY user_id', [dialogId]);
    expect(stored).toEqual([
      { user_id: 'alice', message_id: m3 },
      { user_id: 'bob', message_id: m1 },
    ]);
    expect(await sql(cluster.shardUrls[1], 'SELECT 1 FROM read_marks WHERE dialog_id = $1', [dialogId])).toEqual([]);
  });

  it('takes marks from participants only, of messages of the dialog; bad input is a JSON 400', async () => {
    const dialogId = await dialogOn(1);
    const other = await dialogOn(0);
    const message = await send('bob', dialogId, 'hello');
    const elsewhere = await send('bob', other, 'elsewhere');

    const notFound = await markRead('carol', dialogId, message).expect(404);
    expect(notFound.body).toMatchObject({ statusCode: 404, code: 'DIALOG_NOT_FOUND' });
    for (const id of [elsewhere, uuidv7()]) {
      expect((await markRead('alice', dialogId, id).expect(404)).body).toMatchObject({ statusCode: 404, code: 'MESSAGE_NOT_FOUND' });
    }
    for (const body of [{}, { messageId: 'not-a-uuid' }, { messageId: 42 }, { messageId: null }, { messageId: message, extra: 1 }]) {
      const res = await t.http.post(`/dialogs/${dialogId}/read`).set(t.auth('alice')).send(body).expect(400);
      expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request', code: 'INVALID_INPUT', message: expect.any(String) });
    }
    expect((await t.http.post('/dialogs/nope/read').set(t.auth('alice')).send({ messageId: message }).expect(400)).body).toMatchObject({ statusCode: 400 });
    await t.http.post(`/dialogs/${dialogId}/read`).send({ messageId: message }).expect(401);
    // None of it left a mark.
    expect(await sql(cluster.shardUrls[1], 'SELECT 1 FROM read_marks WHERE dialog_id = $1', [dialogId])).toEqual([]);
  });

  it('lists unread counts and last messages of dialogs on both shards in one page', async () => {
    const onZero = await dialogOn(0);
    const onOne = await dialogOn(1);
    const empty = await dialogOn(1);

    // Shard 0: three from bob (one deleted) and alice's own reply, newest.
    const b0 = [await send('bob', onZero, 'b0'), await send('bob', onZero, 'b1'), await send('bob', onZero, 'b2')];
    await t.http.delete(`/dialogs/${onZero}/messages/${b0[1]}`).set(t.auth('bob')).expect(204);
    const reply = await send('alice', onZero, 'my reply');
    // Shard 1: two long ones from bob; alice read the first; bob deletes the second.
    const long = 'x'.repeat(90) + '🙂'.repeat(20);
    const b1 = [await send('bob', onOne, long), await send('bob', onOne, `second ${long}`)];
    await markRead('alice', onOne, b1[0]).expect(200);

    let alice = await list('alice');
    expect(alice.get(onZero)).toMatchObject({ unreadCount: 2, lastMessage: { id: reply, authorId: 'alice', text: 'my reply' } });
    expect(alice.get(onZero)!.lastMessage!.createdAt).toBe(new Date(parseInt(reply.slice(0, 8) + reply.slice(9, 13), 16)).toISOString());
    // The preview is the first 100 characters, an emoji counting as one.
    expect(alice.get(onOne)).toMatchObject({ unreadCount: 1, lastMessage: { id: b1[1], authorId: 'bob', text: `second ${long}`.slice(0, 7 + 90 + 2 * 3) } });
    expect([...alice.get(onOne)!.lastMessage!.text]).toHaveLength(100);
    expect(alice.get(empty)).toMatchObject({ unreadCount: 0, lastMessage: null });
    // Bob sees alice's reply as unread, and his own messages not at all.
    expect((await list('bob')).get(onZero)).toMatchObject({ unreadCount: 1, lastMessage: { id: reply } });

    await t.http.delete(`/dialogs/${onOne}/messages/${b1[1]}`).set(t.auth('bob')).expect(204);
    await markRead('alice', onZero, reply).expect(200);
    alice = await list('alice');
    expect(alice.get(onOne)).toMatchObject({ unreadCount: 0, lastMessage: { id: b1[0], text: long.slice(0, 90 + 2 * 10) } });
    expect(alice.get(onZero)).toMatchObject({ unreadCount: 0, lastMessage: { id: reply } });
  });

  it('stops counting unread messages at 999', async () => {
    const dialogId = await dialogOn(0);
    // Planted straight into the shard: 1,005 messages from bob, in id (time) order.
    const start = Date.now() - 3_600_000;
    const ids = Array.from({ length: 1005 }, (_, i) => uuidv7({ msecs: start + i }));
    await sql(
      cluster.shardUrls[0],
      `INSERT INTO messages (dialog_id, id, ring_hash, author_id, text, created_at)
       SELECT $1, id, $2, 'bob', 'planted', uuid_extract_timestamp(id) FROM unnest($3::uuid[]) AS id`,
      [dialogId, ringHash(dialogId), ids],
    );
    expect((await list('alice')).get(dialogId)).toMatchObject({ unreadCount: 999, lastMessage: { id: ids[1004], text: 'planted' } });
    await markRead('alice', dialogId, ids[5]).expect(200);
    expect((await list('alice')).get(dialogId)?.unreadCount).toBe(999);
    await markRead('alice', dialogId, ids[6]).expect(200);
    expect((await list('alice')).get(dialogId)?.unreadCount).toBe(998);
    await markRead('alice', dialogId, ids[1000]).expect(200);
    expect((await list('alice')).get(dialogId)?.unreadCount).toBe(4);
  });

  it('announces a mark that moved to the participants’ streams, and a no-op to nobody', async () => {
    const port = (t.app.getHttpServer().address() as AddressInfo).port;
    const dialogId = await dialogOn(1, ['bob']);
    const [m1, m2] = [await send('bob', dialogId, 'one'), await send('bob', dialogId, 'two')];
    const streams = await Promise.all(['alice', 'bob', 'carol'].map((user) => SseClient.open(port, '/events', { authorization: `Bearer ${t.token(user)}` })));
    try {
      for (const s of streams) await eventually(() => expect(s.events.some((e) => e.event === 'ready')).toBe(true));
      await markRead('alice', dialogId, m2).expect(200);
      await markRead('alice', dialogId, m1).expect(200);
      await markRead('bob', dialogId, m1).expect(200);
      const expected = [
        { dialogId, userId: 'alice', messageId: m2 },
        { dialogId, userId: 'bob', messageId: m1 },
      ];
      for (const s of streams.slice(0, 2)) await eventually(() => expect(s.data('dialog.read')).toEqual(expected));
      // Carol's own event, published after all of those: once it arrived, any of theirs would have too.
      const hers = (await t.http.post('/dialogs').set(t.auth('carol')).send({ participantIds: ['dave'] }).expect(201)).body.id;
      await eventually(() => expect(streams[2].data('dialog.created').map((d) => d.id)).toEqual([hers]));
      expect(streams[2].data('dialog.read')).toEqual([]);
      expect(streams[0].data('dialog.read')).toEqual(expected);
    } finally {
      streams.forEach((s) => s.close());
    }
  });

  it('leaves unreadCount and lastMessage out with summary=false, keeps them by default, and refuses any other summary with a JSON 400', async () => {
    const onZero = await dialogOn(0);
    const onOne = await dialogOn(1);
    const zero = await send('bob', onZero, 'zero');
    const one = await send('bob', onOne, 'one');

    // Lists taken one after another agree once the sends' activity has reached dialogdb (about a second).
    await eventually(async () => {
      const full = await list('alice');
      expect(full.get(onZero)).toMatchObject({ unreadCount: 1, lastMessage: { id: zero, text: 'zero' } });
      expect(full.get(onOne)).toMatchObject({ unreadCount: 1, lastMessage: { id: one, text: 'one' } });
      expect(await list('alice', { summary: 'true' })).toEqual(full);
      // Small pages, so the cursor is walked without summaries too.
      const bare = await list('alice', { summary: 'false', limit: 3 });
      expect([...bare.keys()]).toEqual([...full.keys()]);
      for (const [id, item] of bare) {
        const withSummary = full.get(id)!;
        expect(withSummary).toHaveProperty('unreadCount');
        expect(withSummary).toHaveProperty('lastMessage');
        const { unreadCount: _count, lastMessage: _last, ...rest } = withSummary;
        // The same dialog, field for field, with neither property at all.
        expect(item).toStrictEqual(rest);
      }
    });
    const raw = await t.http.get('/dialogs').query({ summary: 'false' }).set(t.auth('alice')).expect(200);
    expect(raw.text).not.toMatch(/unreadCount|lastMessage/);

    for (const query of ['summary=TRUE', 'summary=False', 'summary=1', 'summary=0', 'summary=yes', 'summary=', 'summary=false%20', 'summary=true&summary=false']) {
      const res = await t.http.get(`/dialogs?${query}`).set(t.auth('alice'));
      expect({ query, status: res.status }).toEqual({ query, status: 400 });
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body).toEqual({ statusCode: 400, error: 'Bad Request', code: 'INVALID_INPUT', message: 'summary must be true or false' });
    }
    await t.http.get('/dialogs?summary=false').expect(401);

    // The API document: the parameter, and the two fields as optional.
    const doc = (await t.http.get('/docs-json').expect(200)).body;
    const summary = doc.paths['/dialogs'].get.parameters.find((p: { name: string }) => p.name === 'summary');
    expect(summary).toMatchObject({ in: 'query', required: false, schema: { type: 'boolean', default: true } });
    const item = doc.components.schemas.DialogListItemDto;
    expect(Object.keys(item.properties)).toEqual(expect.arrayContaining(['unreadCount', 'lastMessage']));
    expect(item.required).toEqual(expect.arrayContaining(['id', 'lastActivityAt']));
    expect(item.required).not.toContain('unreadCount');
    expect(item.required).not.toContain('lastMessage');
  });

  it('reads no shard with summary=false: it answers while every shard’s read marks are locked, and with a shard down', async () => {
    const onZero = await dialogOn(0);
    const onOne = await dialogOn(1);
    await send('bob', onZero, 'zero');
    await send('bob', onOne, 'one');

    // Every summary statement reads read_marks: a lock no reader can share, on every shard, holds them all up.
    const lockers: Client[] = [];
    let full: Promise<{ status: number; body: { items: ListItem[] } }> | undefined;
    try {
      for (const url of cluster.shardUrls) {
        const locker = new Client({ connectionString: url });
        await locker.connect();
        lockers.push(locker);
        await locker.query('BEGIN');
        await locker.query('LOCK TABLE read_marks IN ACCESS EXCLUSIVE MODE');
      }
      // Bounded, so a list that did wait fails here rather than holding the locks past the test.
      const bare = await t.http.get('/dialogs').query({ summary: 'false', limit: 200 }).set(t.auth('alice')).timeout(10_000).expect(200);
      expect((bare.body.items as ListItem[]).map((i) => i.id)).toEqual(expect.arrayContaining([onZero, onOne]));
      expect(bare.text).not.toMatch(/unreadCount|lastMessage/);
      // The default list does run them: its statements wait on both shards.
      full = t.http.get('/dialogs').query({ limit: 200 }).set(t.auth('alice')).then((res) => res);
      await eventually(async () => {
        for (const url of cluster.shardUrls) expect(await waitingOnReadMarks(url)).toBeGreaterThan(0);
      });
    } finally {
      for (const locker of lockers) {
        await locker.query('ROLLBACK');
        await locker.end();
      }
    }
    const answered = await full!;
    expect(answered.status).toBe(200);
    const items = new Map(answered.body.items.map((i) => [i.id, i]));
    expect(items.get(onZero)).toMatchObject({ unreadCount: 1, lastMessage: { text: 'zero' } });
    expect(items.get(onOne)).toMatchObject({ unreadCount: 1, lastMessage: { text: 'one' } });

    // With shard-1 down, the default list says it does not know that shard's dialogs; summary=false needs no shard.
    await cluster.shards[1].stop();
    try {
      const down = await list('alice');
      expect(down.get(onOne)).toMatchObject({ unreadCount: null, lastMessage: null });
      expect(down.get(onZero)).toMatchObject({ unreadCount: 1, lastMessage: { text: 'zero' } });
      const bare = await t.http.get('/dialogs').query({ summary: 'false', limit: 200 }).set(t.auth('alice')).expect(200);
      expect((bare.body.items as ListItem[]).map((i) => i.id)).toEqual(expect.arrayContaining([onZero, onOne]));
      expect(bare.text).not.toMatch(/unreadCount|lastMessage/);
    } finally {
      await cluster.shards[1].restart();
    }
    await eventually(async () => expect((await list('alice')).get(onOne)).toMatchObject({ unreadCount: 1, lastMessage: { text: 'one' } }));
  });
});
