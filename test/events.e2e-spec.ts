import { AddressInfo } from 'node:net';
import { eventually } from './support/eventually';
import { startCluster, TestCluster } from './support/pg-cluster';
import { SseClient } from './support/sse-client';
import { sql, startTestApp, TestApp } from './support/test-app';

const EVENTS_ENV = { EVENTS_HEARTBEAT_MS: '200', EVENTS_PRUNE_MS: '200', EVENTS_MAX_BUFFER_KB: '64' };

function portOf(t: TestApp): number {
  return (t.app.getHttpServer().address() as AddressInfo).port;
}

/**
 * Live delivery on real Postgres, across two instances: a stream on each, writes through the
 * other; replay after a reconnect; the retention window; stream tokens; heartbeats; a slow
 * consumer; a shutdown with streams open.
 */
describe('live event streams (GET /events)', () => {
  let cluster: TestCluster;
  let a: TestApp;
  let b: TestApp;
  const clients: SseClient[] = [];

  /** A stream for `user` on `t`, once it is live (its `ready` came). */
  async function stream(t: TestApp, user: string, headers: Record<string, string> = {}, query = ''): Promise<SseClient> {
    const client = await SseClient.open(portOf(t), `/events${query}`, { authorization: `Bearer ${t.token(user)}`, ...headers });
    clients.push(client);
    expect(client.status).toBe(200);
    await eventually(() => expect(client.events.some((e) => e.event === 'ready')).toBe(true));
    return client;
  }

  async function dialog(t: TestApp, user: string, others: string[]): Promise<Record<string, unknown>> {
    return (await t.http.post('/dialogs').set(t.auth(user)).send({ participantIds: others }).expect(201)).body as Record<string, unknown>;
  }

  const send = async (t: TestApp, user: string, dialogId: unknown, text: string) =>
    (await t.http.post(`/dialogs/${dialogId}/messages`).set(t.auth(user)).send({ text }).expect(201)).body as Record<string, unknown>;

  beforeAll(async () => {
    cluster = await startCluster({ shards: 2 });
    a = await startTestApp(cluster, EVENTS_ENV);
    b = await startTestApp(cluster, EVENTS_ENV);
    await a.app.listen(0, '127.0.0.1');
    await b.app.listen(0, '127.0.0.1');
  });

  afterEach(() => {
    clients.splice(0).forEach((c) => c.close());
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await cluster?.destroy();
  });

  it('delivers writes made through the other instance, in order, with the REST payloads, to participants only', async () => {
    const alice = await stream(a, 'alice');
    const bob = await stream(b, 'bob');
    const carol = await stream(b, 'carol');

    const created = await dialog(a, 'alice', ['bob']);
    const sent: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 20; i++) sent.push(await send(i % 2 ? a : b, i % 2 ? 'alice' : 'bob', created.id, `m${i}`));
    const edited = (await b.http.patch(`/dialogs/${created.id}/messages/${sent[0].id}`).set(b.auth('bob')).send({ text: 'edited' }).expect(200)).body;
    await b.http.delete(`/dialogs/${created.id}/messages/${sent[1].id}`).set(b.auth('alice')).expect(204);
    // A second delete changes nothing and announces nothing.
    await a.http.delete(`/dialogs/${created.id}/messages/${sent[1].id}`).set(a.auth('alice')).expect(204);

    const expected = [
      { event: 'dialog.created', data: { ...created, dialogId: created.id } },
      ...sent.map((m) => ({ event: 'message.created', data: m })),
      { event: 'message.edited', data: edited },
      { event: 'message.deleted', data: { id: sent[1].id, dialogId: created.id } },
    ];
    const ofDialog = (c: SseClient) =>
      c.events.filter((e) => e.event.includes('.')).map((e) => ({ event: e.event, data: JSON.parse(e.data) as Record<string, unknown> }));
    const key = (e: { event: string; data: Record<string, unknown> }) => `${e.event} ${String(e.data.id)}`;
    // Writes through one instance arrive in the order they were acknowledged; across two, in
    // the order their events reached the log (README: a few ms may swap causally close ones).
    const inOrderOf = (t: TestApp) => (i: number) => (i % 2 ? t === a : t === b);
    for (const client of [alice, bob]) {
      await eventually(() => expect(ofDialog(client).map(key).sort()).toEqual(expected.map(key).sort()));
      const got = ofDialog(client);
      expect(got).toEqual(expect.arrayContaining(expected));
      for (const t of [a, b]) {
        const through = sent.filter((_, i) => inOrderOf(t)(i)).map((m) => m.id);
        expect(got.filter((e) => e.event === 'message.created' && through.includes(e.data.id as string)).map((e) => e.data.id)).toEqual(through);
      }
      // An edit follows its message's creation (both through b), and ids go up, so a client can resume from the last it saw.
      expect(got.findIndex((e) => e.event === 'message.edited')).toBeGreaterThan(got.findIndex((e) => e.data.id === sent[0].id));
      const ids = client.events.filter((e) => e.event.includes('.')).map((e) => Number(e.id));
      expect(ids).toEqual([...ids].sort((x, y) => x - y));
    }

    // Carol's own dialog, created after all of that: once its event reached her, anything of
    // alice's dialog would have reached her before it.
    const hers = await dialog(a, 'carol', ['dave']);
    await eventually(() => expect(carol.data('dialog.created').map((d) => d.id)).toEqual([hers.id]));
    expect(carol.events.filter((e) => e.event.startsWith('message.'))).toEqual([]);
  });

  it('delivers every event exactly once while both instances append at once', async () => {
    const dialogs = await Promise.all(['u1', 'u2', 'u3', 'u4'].map((u) => dialog(a, u, ['watcher'])));
    const onA = await stream(a, 'watcher');
    const onB = await stream(b, 'watcher');
    // Four writers per instance, each sending in turn: appends from both instances race for the log.
    const sent = (
      await Promise.all(
        dialogs.flatMap((d, i) =>
          [a, b].map(async (t) => {
            const out: string[] = [];
            for (let n = 0; n < 15; n++) out.push((await send(t, `u${i + 1}`, d.id, `${n}`)).id as string);
            return out;
          }),
        ),
      )
    ).flat();
    for (const client of [onA, onB]) {
      await eventually(() => expect(client.data('message.created')).toHaveLength(sent.length), { timeoutMs: 20_000 });
      expect(client.data('message.created').map((m) => m.id).sort()).toEqual([...sent].sort());
      const ids = client.events.filter((e) => e.event === 'message.created').map((e) => Number(e.id));
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toEqual([...ids].sort((x, y) => x - y));
    }
  });

  it('delivers an event too large to ride in its notification, and those after it, from the log', async () => {
    const bob = await stream(b, 'bob');
    const created = await dialog(a, 'alice', ['bob']);
    // 4000 three-byte characters: about 12 kB, past the 8000 bytes a notification carries.
    const big = await send(a, 'alice', created.id, '語'.repeat(4000));
    const small = await send(a, 'alice', created.id, 'after the big one');
    await eventually(() => {
      const got = bob.events.filter((e) => e.event === 'message.created').map((e) => JSON.parse(e.data) as Record<string, unknown>);
      expect(got).toEqual([big, small]);
    });
  });

  it('replays what a client missed after Last-Event-ID (header or query), then goes live', async () => {
    const first = await stream(a, 'erin');
    const created = await dialog(a, 'erin', ['frank']);
    await eventually(() => expect(first.data('dialog.created')).toHaveLength(1));
    const resumeFrom = first.events.find((e) => e.event === 'dialog.created')!.id!;
    first.close();

    const missed = [await send(b, 'frank', created.id, 'one'), await send(a, 'frank', created.id, 'two'), await send(b, 'erin', created.id, 'three')];
    for (const [headers, query] of [[{ 'last-event-id': resumeFrom }, ''], [{}, `?lastEventId=${resumeFrom}`]] as const) {
      // Published after the sends answered: wait until the log holds them.
      await eventually(async () => {
        const [row] = await sql<{ n: string }>(cluster.dialogDbUrl, 'SELECT count(*) AS n FROM events WHERE dialog_id = $1', [created.id]);
        expect(Number(row.n)).toBe(1 + missed.length);
      });
      const again = await stream(b, 'erin', headers, query);
      expect(again.events.map((e) => e.event)).toEqual([...missed.map(() => 'message.created'), 'ready']);
      expect(again.data('message.created')).toEqual(missed);
      expect(again.data('ready')).toEqual([{ replayed: missed.length, resync: false }]);
      // Then live, and nothing replayed comes twice.
      const live = await send(a, 'frank', created.id, `live ${missed.length}`);
      await eventually(() => expect(again.data('message.created')).toEqual([...missed, live]));
      again.close();
      missed.push(live);
    }
  });

  it('answers resync for an id past the retention window, or one it never issued', async () => {
    const created = await dialog(a, 'gina', ['hal']);
    const old = await stream(a, 'gina');
    await send(b, 'hal', created.id, 'soon pruned');
    await eventually(() => expect(old.data('message.created')).toHaveLength(1));
    const seen = Number(old.events.find((e) => e.event === 'message.created')!.id);
    old.close();
    // Age everything up to that event past the window; the prune (every 200 ms here) deletes it.
    await sql(cluster.dialogDbUrl, `UPDATE events SET created_at = now() - interval '1 day' WHERE id <= $1`, [seen]);
    await eventually(async () => {
      const [row] = await sql<{ pruned_through: string }>(cluster.dialogDbUrl, 'SELECT pruned_through FROM event_horizon');
      expect(Number(row.pruned_through)).toBeGreaterThanOrEqual(seen);
    });

    const stale = await stream(b, 'gina', { 'last-event-id': String(seen - 1) });
    expect(stale.events.map((e) => e.event)).toEqual(['resync', 'ready']);
    expect(stale.data('resync')[0].reason).toMatch(/retention window/);
    expect(stale.events[0].id).toBe(stale.events[1].id);
    // Live after the resync.
    const next = await send(a, 'hal', created.id, 'after the resync');
    await eventually(() => expect(stale.data('message.created')).toEqual([next]));

    const unknown = await stream(a, 'gina', { 'last-event-id': '9007199254740991' });
    expect(unknown.data('resync')[0].reason).toMatch(/no event 9007199254740991 was ever sent/);
  });

  it('refuses bad input with JSON errors, never a stream', async () => {
    for (const bad of ['abc', '-1', '1.5', '99999999999999999999']) {
      const client = await SseClient.open(portOf(a), '/events', { authorization: `Bearer ${a.token('ivan')}`, 'last-event-id': bad });
      expect(client.status).toBe(400);
      expect(await client.json()).toMatchObject({ statusCode: 400, code: 'INVALID_INPUT', message: expect.stringMatching(/Last-Event-ID/) });
    }
    const none = await SseClient.open(portOf(a), '/events');
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ statusCode: 401, message: expect.stringMatching(/missing token/) });
    const garbage = await SseClient.open(portOf(a), '/events', { authorization: 'Bearer not.a.jwt' });
    expect(garbage.status).toBe(401);
    expect(await garbage.json()).toMatchObject({ statusCode: 401, message: 'invalid token' });
    const viewer = await SseClient.open(portOf(a), '/events', { authorization: `Bearer ${a.token('ops', { viewer: true })}` });
    expect(viewer.status).toBe(403);
    await viewer.json();
  });

  it('opens a stream with a stream token in ?token=, which no other route accepts', async () => {
    const issued = await a.http.post('/events/token').set(a.auth('judy')).expect(201);
    expect(issued.body).toEqual({ token: expect.any(String), expiresIn: 60 });
    const token = issued.body.token as string;

    const viaQuery = await stream(b, 'judy', { authorization: '' }, `?token=${encodeURIComponent(token)}`);
    const created = await dialog(a, 'kim', ['judy']);
    await eventually(() => expect(viaQuery.data('dialog.created').map((d) => d.id)).toEqual([created.id]));

    const asBearer = await b.http.get('/dialogs').set('Authorization', `Bearer ${token}`).expect(401);
    expect(asBearer.body).toMatchObject({ statusCode: 401, message: expect.stringMatching(/stream token opens only GET \/events/) });
    await b.http.get('/events').set('Authorization', `Bearer ${token}`).expect(401);
    // ... and a bearer token is no stream token.
    const bearerInQuery = await SseClient.open(portOf(a), `/events?token=${a.token('judy')}`);
    expect(bearerInQuery.status).toBe(401);
    expect(await bearerInQuery.json()).toMatchObject({ message: expect.stringMatching(/invalid stream token/) });
  });

  it('sends heartbeat comments while idle', async () => {
    const idle = await stream(a, 'liam');
    await eventually(() => expect(idle.comments.filter((c) => c === 'ping').length).toBeGreaterThanOrEqual(2));
  });

  it('drops a consumer that stops reading, rather than buffer without bound', async () => {
    const created = await dialog(a, 'mia', ['noah']);
    const slow = await stream(b, 'noah');
    slow.pause();
    const text = 'x'.repeat(4000);
    // The kernel's socket buffers take some megabytes first; sends go on until the stream is dropped.
    await eventually(
      async () => {
        await Promise.all(Array.from({ length: 50 }, () => send(a, 'mia', created.id, text)));
        const metrics = (await b.http.get('/metrics').expect(200)).text;
        expect(metrics).toMatch(/^chat_event_streams_closed_total\{reason="slow_consumer"\} [1-9]/m);
      },
      { timeoutMs: 60_000, intervalMs: 0 },
    );
    slow.resume();
    await eventually(() => expect(slow.ended).toBe(true));
  });

  it('shows live streams and events sent per instance in /metrics and the state page', async () => {
    await stream(a, 'olga');
    const metrics = (await a.http.get('/metrics').expect(200)).text;
    expect(metrics).toMatch(/^chat_event_streams [1-9]/m);
    expect(metrics).toMatch(/^chat_events_sent_total\{type="message.created"\} [1-9]/m);
    expect(metrics).toMatch(/^chat_events_published_total [1-9]/m);
    await eventually(async () => {
      const state = await a.http.get('/state/data').set(a.auth('ops', { viewer: true })).expect(200);
      const self = (state.body.instances as Array<{ self: boolean; streams: number; eventsSent: number }>).find((i) => i.self)!;
      expect(self.streams).toBeGreaterThanOrEqual(1);
      expect(self.eventsSent).toBeGreaterThan(0);
    });
  });

  it('describes the stream, its event payloads and the stream token in the API document', async () => {
    const doc = (await a.http.get('/docs-json').expect(200)).body;
    const streamOp = doc.paths['/events'].get;
    expect(Object.keys(streamOp.responses['200'].content)).toEqual(['text/event-stream']);
    expect(streamOp.description).toMatch(/message\.created.*message\.edited.*message\.deleted.*dialog\.created.*resync/);
    expect(streamOp.parameters.map((p: { name: string }) => p.name).sort()).toEqual(['Last-Event-ID', 'lastEventId', 'token']);
    for (const name of ['MessageDeletedEventDto', 'DialogCreatedEventDto', 'ResyncEventDto', 'StreamTokenDto']) expect(doc.components.schemas[name]).toBeDefined();
    expect(doc.paths['/events/token'].post.responses['201']).toBeDefined();
  });

  it('closes its streams with a last event when the instance shuts down', async () => {
    const c = await startTestApp(cluster, EVENTS_ENV);
    let closing: Promise<void> | null = null;
    try {
      await c.app.listen(0, '127.0.0.1');
      const open = await stream(c, 'pat');
      closing = c.close();
      await eventually(() => expect(open.ended).toBe(true));
      expect(open.data('close')).toEqual([expect.objectContaining({ reason: 'shutdown' })]);
    } finally {
      await (closing ?? c.close());
    }
  });
});
