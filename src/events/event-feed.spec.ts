import { EventRow } from './event.types';
import { EventFeed } from './event-feed';
import { EventsRepository } from './events.repository';
import { StreamHub } from './stream-hub';

const config = { dialogDbUrl: 'postgres://127.0.0.1:1/none', connectTimeoutMs: 100, events: { pollMs: 1000, pruneMs: 1000, retentionMs: 1000 } };
/** The payload append_events notifies with. */
const notification = (ids: number[]) => JSON.stringify(ids.map((i) => ({ i, r: ['alice'], t: 'message.created', p: `{"id":"m${i}"}` })));

describe('EventFeed', () => {
  let delivered: EventRow[];
  let logged: number[];
  let sut: EventFeed;
  let reads: number;

  beforeEach(async () => {
    delivered = [];
    reads = 0;
    logged = [11, 12, 13];
    const events = {
      position: async () => 10,
      after: async (afterId: number) => ({ bounds: { prunedThrough: 0, lastIssued: 13 }, rows: logged.filter((i) => i > afterId).map((id) => ({ id, type: 'message.created', recipients: ['alice'], payload: `{"id":"m${id}"}` })) }),
    } as unknown as EventsRepository;
    const hub = { empty: false, deliver: (row: EventRow) => void delivered.push(row) } as unknown as StreamHub;
    sut = new EventFeed(config as never, events, hub);
    // The position a started feed reads, without its listener and timers.
    (sut as unknown as { lastSeen: number }).lastSeen = await events.position();
  });

  const read = () => {
    reads++;
    void sut.read();
  };

  it('hands the rows a notification carries straight to the streams when they follow on, reading nothing', () => {
    sut.notified(notification([11, 12]), read);
    sut.notified(notification([13]), read);
    expect(delivered.map((r) => r.id)).toEqual([11, 12, 13]);
    expect(delivered[0]).toEqual({ id: 11, type: 'message.created', recipients: ['alice'], payload: '{"id":"m11"}' });
    expect(reads).toBe(0);
    expect(sut.position).toBe(13);
  });

  it('reads the log when a notification has no rows (too large to carry) or leaves a gap, and delivers each row once', async () => {
    sut.notified(undefined, read);
    expect(reads).toBe(1);
    await sut.read();
    expect(delivered.map((r) => r.id)).toEqual([11, 12, 13]);
    logged.push(15, 16);
    // 14 was never committed (an append that failed): 15 does not follow on from 13.
    sut.notified(notification([15, 16]), read);
    expect(reads).toBe(2);
    await sut.read();
    // Rows a notification repeats after a read are not delivered again.
    sut.notified(notification([16]), read);
    expect(delivered.map((r) => r.id)).toEqual([11, 12, 13, 15, 16]);
  });

  it('reads the log instead while a read is in flight, so rows keep their order', async () => {
    const inFlight = sut.read();
    sut.notified(notification([11]), read);
    expect(reads).toBe(1);
    await inFlight;
    expect(delivered.map((r) => r.id)).toEqual([11, 12, 13]);
  });

  it('takes a payload it cannot parse as a reason to read', () => {
    sut.notified('not json', read);
    expect(reads).toBe(1);
    expect(delivered).toEqual([]);
  });
});
