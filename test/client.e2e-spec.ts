import { AddressInfo } from 'node:net';
import { v7 as uuidv7 } from 'uuid';
import { createChatClient } from '../client';
import { buildApiDocument } from '../src/openapi/api-document';
import { fetchApiDocument } from './support/openapi';
import { startCluster, TestCluster } from './support/pg-cluster';
import { startTestApp, TestApp } from './support/test-app';

/** The README's "Try it", through the client generated from the document (client/), on a real service. */
describe('the generated client', () => {
  let cluster: TestCluster;
  let t: TestApp;
  let client: ReturnType<typeof createChatClient>;

  beforeAll(async () => {
    cluster = await startCluster({ shards: 2 });
    t = await startTestApp(cluster);
    await t.app.listen(0, '127.0.0.1');
    client = createChatClient({ baseUrl: `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}` });
  });

  afterAll(async () => {
    await t?.close();
    await cluster?.destroy();
  });

  it('is generated from the document the service serves', async () => {
    // client:generate builds the document without databases; it must be the one /docs-json serves.
    expect(await fetchApiDocument(t.http)).toEqual(JSON.parse(JSON.stringify(await buildApiDocument())));
  });

  it('runs the README flow: a dialog, a message, its page, the OTUS pair, where things live, health', async () => {
    const alice = { Authorization: `Bearer ${t.token('alice')}` };
    const ops = { Authorization: `Bearer ${t.token('ops', { admin: true })}` };

    const created = await client.POST('/dialogs', { headers: alice, body: { participantIds: ['bob'], title: 'lunch' } });
    expect(created.response.status).toBe(201);
    const dialog = created.data!;
    expect(dialog).toMatchObject({ kind: 'group', title: 'lunch', createdBy: 'alice' });
    expect([...dialog.participantIds].sort()).toEqual(['alice', 'bob']);

    const send = () =>
      client.POST('/dialogs/{dialogId}/messages', { params: { path: { dialogId: dialog.id } }, headers: alice, body: { text: 'noon?', clientMessageId: 'm-1' } });
    const sent = await send();
    expect(sent.response.status).toBe(201);
    expect(sent.data).toMatchObject({ dialogId: dialog.id, authorId: 'alice', text: 'noon?', editedAt: null });
    const retried = await send();
    expect(retried.response.status).toBe(200);
    expect(retried.data!.id).toBe(sent.data!.id);

    const page = await client.GET('/dialogs/{dialogId}/messages', { params: { path: { dialogId: dialog.id }, query: { limit: 20 } }, headers: alice });
    expect(page.data!.items.map((m) => m.text)).toEqual(['noon?']);
    expect(page.data!.nextCursor).toBeNull();

    const otusSend = await client.POST('/dialog/{user_id}/send', { params: { path: { user_id: 'bob' } }, headers: alice, body: { text: 'hi bob' } });
    expect(otusSend.response.status).toBe(200);
    const otusList = await client.GET('/dialog/{user_id}/list', { params: { path: { user_id: 'bob' } }, headers: alice });
    expect(otusList.data).toEqual([{ from: 'alice', to: 'bob', text: 'hi bob' }]);

    const ring = await client.GET('/admin/ring', { headers: ops });
    expect(ring.data!.points.map((p) => p.shard).sort()).toEqual(['shard-0', 'shard-1']);
    const route = await client.GET('/admin/route/{dialogId}', { params: { path: { dialogId: dialog.id } }, headers: ops });
    expect(route.data).toMatchObject({ dialogId: dialog.id, reads: [route.data!.shard] });
    const shards = await client.GET('/admin/shards', { headers: ops });
    expect(shards.data!.map((s) => s.name)).toEqual(expect.arrayContaining(['shard-0', 'shard-1']));

    const health = await client.GET('/health');
    expect(health.data).toEqual({ status: 'ok', databases: { dialogdb: 'up', 'shard-0': 'up', 'shard-1': 'up' } });
  });

  it('reads errors as the shared error body', async () => {
    const alice = { Authorization: `Bearer ${t.token('alice')}` };
    const missing = await client.GET('/dialogs/{id}', { params: { path: { id: uuidv7() } }, headers: alice });
    expect(missing.response.status).toBe(404);
    expect(missing.error).toMatchObject({ statusCode: 404, error: 'Not Found', code: 'DIALOG_NOT_FOUND' });
    const admin = await client.GET('/admin/ring', { headers: alice });
    expect(admin.response.status).toBe(403);
    expect(admin.error!.statusCode).toBe(403);
  });
});
