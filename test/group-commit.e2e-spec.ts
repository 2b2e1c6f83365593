import { v7 as uuidv7 } from 'uuid';
import { MessageWriter } from '../src/messages/message-writer';
import { MessagesRepository, NewMessage } from '../src/messages/messages.repository';
import { uuidv7Time } from '../src/shards/uuidv7';
import { ringHash } from '../src/ring';
import { OwnershipError } from '../src/shards/ownership.error';
import { startCluster, TestCluster } from './support/pg-cluster';
import { sql, startTestApp, TestApp } from './support/test-app';

/**
 * Sends bound for one shard are written together (group commit). Whatever shares a batch, each
 * send must get exactly the answer it would have had alone, and the shard exactly the rows.
 */
describe('coalesced sends on real shards', () => {
  let cluster: TestCluster;
  let t: TestApp;
  let writer: MessageWriter;
  let batches: number[];

  beforeAll(async () => {
    cluster = await startCluster({ shards: 2 });
    // One batch in flight per shard: whatever is submitted meanwhile leaves together.
    t = await startTestApp(cluster, { SEND_BATCHES_PER_SHARD: '1' });
    writer = t.app.get(MessageWriter);
    const repository = t.app.get(MessagesRepository);
    const insertMany = repository.insertMany.bind(repository);
    jest.spyOn(repository, 'insertMany').mockImplementation((shard, ms) => {
      batches.push(ms.length);
      return insertMany(shard, ms);
    });
  });

  beforeEach(() => {
    batches = [];
  });

  afterAll(async () => {
    await t?.close();
    await cluster?.destroy();
  });

  async function dialogOn(shard: 'shard-0' | 'shard-1'): Promise<string> {
    for (;;) {
      const res = await t.http.post('/dialogs').set(t.auth('alice')).send({ participantIds: ['bob'] }).expect(201);
      const id = res.body.id as string;
      if ((ringHash(id) < 2147483647 ? 'shard-0' : 'shard-1') === shard) return id;
    }
  }

  function message(dialogId: string, over: Partial<NewMessage> = {}): NewMessage {
    const id = uuidv7();
    return { id, dialogId, ringHash: ringHash(dialogId), authorId: 'alice', text: `text of ${id}`, clientMessageId: null, createdAt: uuidv7Time(id), ...over };
  }

  const rowsOf = (dialogId: string) => sql<{ id: string; client_message_id: string | null }>(cluster.shardUrls[0], 'SELECT id, client_message_id FROM messages WHERE dialog_id = $1 ORDER BY id', [dialogId]);

  it('writes what arrives during a round trip in one statement, each send answered with its own row', async () => {
    const dialogId = await dialogOn('shard-0');
    const first = message(dialogId);
    const rest = Array.from({ length: 20 }, () => message(dialogId));
    const answers = await Promise.all([first, ...rest].map((m) => writer.insert('shard-0', m)));
    // The first leaves alone, at once; the 20 that came while it was in flight leave together.
    expect(batches).toEqual([20]);
    expect(answers.map((row) => row?.id)).toEqual([first, ...rest].map((m) => m.id));
    expect(answers.map((row) => row?.text)).toEqual([first, ...rest].map((m) => m.text));
    expect((await rowsOf(dialogId)).map((r) => r.id)).toEqual([first, ...rest].map((m) => m.id).sort());
  });

  it('gives every send of a mixed batch the answer it would have had alone', async () => {
    const dialogId = await dialogOn('shard-0');
    const earlier = message(dialogId, { clientMessageId: 'sent-before' });
    await writer.insert('shard-0', earlier);

    const blocker = message(dialogId);
    const fresh = [message(dialogId), message(dialogId)];
    const keyed = message(dialogId, { clientMessageId: 'k1' });
    const keyedAgain = message(dialogId, { clientMessageId: 'k1' });
    const retryOfEarlier = message(dialogId, { clientMessageId: 'sent-before' });
    // A hash of the other shard's arc: this shard refuses the row (a stale route).
    const refused = message(dialogId, { ringHash: 3_000_000_000 });
    // Postgres refuses a NUL in text: this row's statement fails, and only this row's.
    const bad = message(dialogId, { text: 'nul \u0000 inside' });
    const batch = [fresh[0], keyed, refused, keyedAgain, bad, retryOfEarlier, fresh[1]];

    const pending = [blocker, ...batch].map((m) => writer.insert('shard-0', m));
    const settled = await Promise.allSettled(pending);
    expect(batches).toEqual([batch.length]);
    const outcome = (m: NewMessage) => settled[[blocker, ...batch].indexOf(m)];
    const value = (m: NewMessage) => {
      const o = outcome(m);
      if (o.status !== 'fulfilled') throw new Error(`send ${m.id} failed: ${String(o.reason)}`);
      return o.value;
    };

    expect(value(fresh[0])?.id).toBe(fresh[0].id);
    expect(value(fresh[1])?.id).toBe(fresh[1].id);
    expect(value(keyed)?.id).toBe(keyed.id);
    // Already used, in the same batch or before it: null, and the service then reads the first.
    expect(value(keyedAgain)).toBeNull();
    expect(value(retryOfEarlier)).toBeNull();
    const refusal = outcome(refused);
    expect(refusal.status === 'rejected' && refusal.reason).toBeInstanceOf(OwnershipError);
    const badOutcome = outcome(bad);
    expect(badOutcome.status === 'rejected' && (badOutcome.reason as { code?: string }).code).toBe('22021');

    const stored = await rowsOf(dialogId);
    expect(stored.map((r) => r.id)).toEqual([earlier, blocker, fresh[0], keyed, fresh[1]].map((m) => m.id).sort());
  });

  it('keeps the HTTP contract under concurrency: same-key sends answer one message, 201 then 200', async () => {
    const dialogs = [await dialogOn('shard-0'), await dialogOn('shard-1')];
    const sends = dialogs.flatMap((dialogId) =>
      Array.from({ length: 30 }, (_, i) => ({ dialogId, body: { text: `concurrent ${i}`, clientMessageId: `pair-${i % 15}` } })),
    );
    const responses = await Promise.all(sends.map((s) => t.http.post(`/dialogs/${s.dialogId}/messages`).set(t.auth('bob')).send(s.body)));
    expect(batches.some((size) => size > 1)).toBe(true);
    for (const dialogId of dialogs) {
      const mine = responses.filter((_, i) => sends[i].dialogId === dialogId);
      for (let k = 0; k < 15; k++) {
        const pair = mine.filter((_, i) => i % 15 === k);
        expect(pair.map((r) => r.status).sort()).toEqual([200, 201]);
        expect(pair[0].body.id).toBe(pair[1].body.id);
      }
      const page = await t.http.get(`/dialogs/${dialogId}/messages?limit=100`).set(t.auth('alice')).expect(200);
      expect(page.body.items).toHaveLength(15);
    }
  });
});
