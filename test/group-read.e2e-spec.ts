import { ClientIdKey, MessagesRepository, PageJson, PageRequest } from '../src/messages/messages.repository';
import { ShardReader } from '../src/messages/shard-reader';
import { ringHash } from '../src/ring';
import { OwnershipError } from '../src/shards/ownership.error';
import { startCluster, TestCluster } from './support/pg-cluster';
import { startTestApp, TestApp } from './support/test-app';

/**
 * Page reads bound for one shard are read together, several pages in one statement. Whatever
 * shares a statement, each read must get exactly the page it would have had alone.
 */
describe('grouped page reads on real shards', () => {
  let cluster: TestCluster;
  let t: TestApp;
  let reader: ShardReader;
  let repository: MessagesRepository;
  let batches: number[];
  let lookups: number[];

  beforeAll(async () => {
    cluster = await startCluster({ shards: 2 });
    // One statement in flight per shard: whatever is asked meanwhile leaves together.
    t = await startTestApp(cluster, { READ_BATCHES_PER_SHARD: '1' });
    reader = t.app.get(ShardReader);
    repository = t.app.get(MessagesRepository);
    const pagesJson = repository.pagesJson.bind(repository);
    jest.spyOn(repository, 'pagesJson').mockImplementation((shard, requests) => {
      batches.push(requests.length);
      return pagesJson(shard, requests);
    });
    const findByClientIds = repository.findByClientIds.bind(repository);
    jest.spyOn(repository, 'findByClientIds').mockImplementation((shard, keys) => {
      lookups.push(keys.length);
      return findByClientIds(shard, keys);
    });
  });

  beforeEach(() => {
    batches = [];
    lookups = [];
  });

  afterAll(async () => {
    await t?.close();
    await cluster?.destroy();
  });

  const shardOf = (id: string) => (ringHash(id) < 2147483647 ? 'shard-0' : 'shard-1');

  /** A dialog on `shard` holding `count` messages, newest first in the answer. */
  async function dialogWith(shard: string, count: number): Promise<{ id: string; messageIds: string[] }> {
    for (;;) {
      const res = await t.http.post('/dialogs').set(t.auth('alice')).send({ participantIds: ['bob'] }).expect(201);
      const id = res.body.id as string;
      if (shardOf(id) !== shard) continue;
      const messageIds: string[] = [];
      for (let i = 0; i < count; i++) {
        const sent = await t.http.post(`/dialogs/${id}/messages`).set(t.auth(i % 2 ? 'bob' : 'alice')).send({ text: `message ${i} of "${id}"` }).expect(201);
        messageIds.unshift(sent.body.id as string);
      }
      return { id, messageIds };
    }
  }

  /** The page read alone (the statement with this one page), after the grouped reads are done. */
  async function alone(shard: string, request: PageRequest): Promise<PageJson> {
    const [page] = await repository.pagesJson(shard, [request]);
    return page;
  }

  it('reads what arrives during a statement in one statement, each read answered with its own page', async () => {
    const dialogs = [await dialogWith('shard-0', 7), await dialogWith('shard-0', 3), await dialogWith('shard-0', 0), await dialogWith('shard-0', 12)];
    const blocker: PageRequest = { dialogId: dialogs[0].id, hash: ringHash(dialogs[0].id), limit: 50 };
    // Different dialogs, limits and cursors, an empty dialog, a page that ends exactly at its
    // limit, a cursor past the oldest message, and the same page asked twice.
    const requests: PageRequest[] = [
      { dialogId: dialogs[0].id, hash: ringHash(dialogs[0].id), limit: 2 },
      { dialogId: dialogs[1].id, hash: ringHash(dialogs[1].id), limit: 3 },
      { dialogId: dialogs[2].id, hash: ringHash(dialogs[2].id), limit: 50 },
      { dialogId: dialogs[3].id, hash: ringHash(dialogs[3].id), limit: 5, before: dialogs[3].messageIds[4] },
      { dialogId: dialogs[3].id, hash: ringHash(dialogs[3].id), limit: 100, before: dialogs[3].messageIds[11] },
      { dialogId: dialogs[0].id, hash: ringHash(dialogs[0].id), limit: 2 },
      { dialogId: dialogs[3].id, hash: ringHash(dialogs[3].id), limit: 1, before: dialogs[3].messageIds[0] },
    ];
    const pages = await Promise.all([blocker, ...requests].map((r) => reader.page('shard-0', r)));
    // The blocker leaves alone, at once; the rest, asked while it was in flight, leave together.
    expect(batches).toEqual([1, requests.length]);
    batches = [];
    for (const [i, request] of [blocker, ...requests].entries()) expect(pages[i]).toEqual(await alone('shard-0', request));

    // And what alone means, spelled out for a few: items, the oldest shown, whether more follow.
    const ids = (page: PageJson) => (JSON.parse(page.items) as Array<{ id: string }>).map((m) => m.id);
    expect(ids(pages[1])).toEqual(dialogs[0].messageIds.slice(0, 2));
    expect(pages[1]).toMatchObject({ last: dialogs[0].messageIds[1], more: true });
    expect(ids(pages[2])).toEqual(dialogs[1].messageIds);
    expect(pages[2]).toMatchObject({ last: dialogs[1].messageIds[2], more: false });
    expect(pages[3]).toEqual({ items: '[]', last: null, more: false });
    expect(ids(pages[4])).toEqual(dialogs[3].messageIds.slice(5, 10));
    expect(pages[4].more).toBe(true);
    expect(pages[5]).toEqual({ items: '[]', last: null, more: false });
    expect(ids(pages[7])).toEqual([dialogs[3].messageIds[1]]);
  });

  it('refuses only the pages of a hash the shard does not serve, the rest of the statement answered', async () => {
    const here = await dialogWith('shard-0', 4);
    const blocker: PageRequest = { dialogId: here.id, hash: ringHash(here.id), limit: 10 };
    const served: PageRequest = { dialogId: here.id, hash: ringHash(here.id), limit: 3 };
    // A hash of the other shard's arc: a stale route, which shard-0 refuses.
    const stale: PageRequest = { dialogId: here.id, hash: 3_000_000_000, limit: 3 };
    const settled = await Promise.allSettled([blocker, served, stale, served].map((r) => reader.page('shard-0', r)));
    // The grouped statement failed as a whole; each page was then read alone.
    expect(batches.slice(0, 2)).toEqual([1, 3]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    const refusal = settled[2];
    expect(refusal.status === 'rejected' && refusal.reason).toBeInstanceOf(OwnershipError);
    const expected = await alone('shard-0', served);
    for (const i of [1, 3]) {
      const s = settled[i];
      expect(s.status === 'fulfilled' && s.value).toEqual(expected);
    }
  });

  it('keeps the HTTP contract: concurrent lists of many dialogs each answer their own page', async () => {
    const dialogs = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => dialogWith(i % 2 ? 'shard-1' : 'shard-0', 3 + i)));
    const lists = dialogs.flatMap((d) => [`/dialogs/${d.id}/messages?limit=2`, `/dialogs/${d.id}/messages`, `/dialogs/${d.id}/messages?limit=4`]);
    batches = [];
    const responses = await Promise.all([...lists, ...lists].map((url) => t.http.get(url).set(t.auth('bob')).expect(200)));
    expect(batches.some((size) => size > 1)).toBe(true);
    for (const [i, url] of [...lists, ...lists].entries()) {
      const d = dialogs[Math.floor((i % lists.length) / 3)];
      const limit = Number(/limit=(\d+)/.exec(url)?.[1] ?? 50);
      expect((responses[i].body.items as Array<{ id: string }>).map((m) => m.id)).toEqual(d.messageIds.slice(0, limit));
      expect(responses[i].body.nextCursor === null).toBe(limit >= d.messageIds.length);
    }
  });

  it('looks up clientMessageIds together, each key answered with its own message or none', async () => {
    const { id: dialogId } = await dialogWith('shard-0', 0);
    const hash = ringHash(dialogId);
    const sent = async (who: string, clientMessageId: string) =>
      (await t.http.post(`/dialogs/${dialogId}/messages`).set(t.auth(who)).send({ text: `${who} ${clientMessageId}`, clientMessageId }).expect(201)).body as { id: string };
    const a1 = await sent('alice', 'k1');
    const b1 = await sent('bob', 'k1');
    const a2 = await sent('alice', 'k2');
    const key = (authorId: string, clientMessageId: string, over: Partial<ClientIdKey> = {}): ClientIdKey => ({ dialogId, hash, authorId, clientMessageId, ...over });
    lookups = [];
    // The same key under two authors, a key nobody used, another dialog's, the same key twice.
    const keys = [key('alice', 'k1'), key('bob', 'k1'), key('bob', 'k2'), key('alice', 'k2'), key('alice', 'k1', { dialogId: '0190a0e4-8c3e-7000-8000-0000000000aa' }), key('alice', 'k1')];
    const found = await Promise.all([key('alice', 'k2'), ...keys].map((k) => reader.byClientId('shard-0', k)));
    expect(lookups).toEqual([1, keys.length]);
    expect(found.map((row) => row?.id ?? null)).toEqual([a2.id, a1.id, b1.id, null, a2.id, null, a1.id]);
    expect(found[1]).toMatchObject({ author_id: 'alice', text: 'alice k1', revision: 0 });
    expect(found[1]).not.toHaveProperty('i');

    // A stale hash in the group: only that key is refused.
    lookups = [];
    const settled = await Promise.allSettled([key('alice', 'k1'), key('bob', 'k1'), key('alice', 'k2', { hash: 3_000_000_000 })].map((k) => reader.byClientId('shard-0', k)));
    expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    const refused = settled[2];
    expect(refused.status === 'rejected' && refused.reason).toBeInstanceOf(OwnershipError);
    const bob = settled[1];
    expect(bob.status === 'fulfilled' && bob.value?.id).toBe(b1.id);
  });
});
