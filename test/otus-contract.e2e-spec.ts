import { ringHash } from '../src/ring';
import { startCluster, TestCluster } from './support/pg-cluster';
import { startTestApp, TestApp } from './support/test-app';

/** The OTUS spec (homework/openapi.json, 1.2.0) for the dialog routes, as our /docs-json must describe them. */
describe('the OTUS contract', () => {
  let cluster: TestCluster;
  let t: TestApp;

  beforeAll(async () => {
    cluster = await startCluster({ shards: 2 });
    t = await startTestApp(cluster);
  });

  afterAll(async () => {
    await t?.close();
    await cluster?.destroy();
  });

  describe('/docs-json', () => {
    let doc: { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, Schema> } };
    type Schema = { type?: string; $ref?: string; items?: Schema; required?: string[]; properties?: Record<string, Schema> };
    type Operation = {
      parameters: Array<{ name: string; in: string; required: boolean; schema: Schema }>;
      responses: Record<string, { content?: { 'application/json': { schema: Schema } }; headers?: Record<string, { schema: Schema }> }>;
    };
    const resolve = (schema: Schema): Schema => (schema.$ref ? doc.components.schemas[schema.$ref.replace('#/components/schemas/', '')] : schema);

    beforeAll(async () => {
      doc = (await t.http.get('/docs-json').expect(200)).body;
    });

    it.each([
      ['/dialog/{user_id}/send', 'post'],
      ['/dialog/{user_id}/list', 'get'],
    ])('%s: the path parameter user_id, and 400, 401, 500 and 503 with the spec’s 5xx body', (path, method) => {
      const op = doc.paths[path]?.[method];
      expect(op).toBeDefined();
      expect(op.parameters.filter((p) => p.in === 'path')).toEqual([expect.objectContaining({ name: 'user_id', in: 'path', required: true, schema: expect.objectContaining({ type: 'string' }) })]);
      expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '500', '503']));
      for (const status of ['500', '503']) {
        const body = resolve(op.responses[status].content!['application/json'].schema);
        expect(body.required).toEqual(expect.arrayContaining(['message']));
        expect(body.properties).toMatchObject({ message: { type: 'string' }, request_id: { type: 'string' }, code: { type: 'integer' } });
      }
      expect(op.responses['503'].headers?.['Retry-After'].schema).toEqual({ type: 'integer' });
    });

    it('describes the list as an array of { from, to, text }, all required strings', () => {
      const schema = doc.paths['/dialog/{user_id}/list'].get.responses['200'].content!['application/json'].schema;
      expect(schema.type).toBe('array');
      const item = resolve(schema.items!);
      expect([...item.required!].sort()).toEqual(['from', 'text', 'to']);
      for (const field of ['from', 'to', 'text']) expect(item.properties![field]).toMatchObject({ type: 'string' });
    });
  });

  describe('a shard that is down', () => {
    it('answers the OTUS routes with 503, Retry-After and the spec’s 5xx body', async () => {
      // A user whose one-to-one dialog with alice lives on shard-1.
      let peer = '';
      for (let i = 0; !peer; i++) {
        await t.http.post(`/dialog/peer-${i}/send`).set(t.auth('alice')).send({ text: 'before' }).expect(200);
        const { items } = (await t.http.get('/dialogs').set(t.auth('alice')).query({ limit: 200 }).expect(200)).body as { items: Array<{ id: string; participantIds: string[] }> };
        const dialog = items.find((d) => d.participantIds.includes(`peer-${i}`))!;
        if (ringHash(dialog.id) >= 2147483647) peer = `peer-${i}`;
      }

      await cluster.shards[1].stop();
      for (const call of [
        () => t.http.post(`/dialog/${peer}/send`).set(t.auth('alice')).send({ text: 'while down' }),
        () => t.http.get(`/dialog/${peer}/list`).set(t.auth('alice')),
        () => t.http.get(`/dialog/alice/list`).set(t.auth(peer)),
      ]) {
        const res = await call();
        expect(res.status).toBe(503);
        expect(res.headers['content-type']).toMatch(/^application\/json/);
        expect(res.headers['retry-after']).toMatch(/^[1-9]\d*$/);
        expect(res.body).toEqual(
          expect.objectContaining({ message: expect.any(String), request_id: res.headers['x-request-id'], code: 503 }),
        );
        expect(Number.isInteger(res.body.code)).toBe(true);
        expect(typeof res.body.request_id).toBe('string');
        expect(res.body.request_id.length).toBeGreaterThan(0);
      }
      // The native routes keep their own shape, and say when to retry too.
      const { items } = (await t.http.get('/dialogs').set(t.auth(peer)).expect(200)).body as { items: Array<{ id: string }> };
      // The list answers; only what it would read from the shard that is down is unknown.
      expect(items[0]).toMatchObject({ unreadCount: null, lastMessage: null });
      const native = await t.http.get(`/dialogs/${items[0].id}/messages`).set(t.auth(peer));
      expect(native.status).toBe(503);
      expect(native.body).toMatchObject({ statusCode: 503, code: 'SHARD_UNAVAILABLE' });
      expect(native.headers['retry-after']).toMatch(/^[1-9]\d*$/);
    });
  });
});
