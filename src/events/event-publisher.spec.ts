import { Logger } from '@nestjs/common';
import { loadConfig, ResolvedConfig } from '../config/app-config';
import { MetricsService } from '../observability/metrics.service';
import { eventually } from '../../test/support/eventually';
import { NewEvent } from './event.types';
import { EventPublisher } from './event-publisher';
import { EventsRepository } from './events.repository';

describe('EventPublisher', () => {
  const config = loadConfig({}) as ResolvedConfig;
  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  it('appends after publish returns, coalescing, with the recipients as given', async () => {
    const appended: NewEvent[][] = [];
    const repo = { append: async (rows: NewEvent[]) => void appended.push(rows) } as unknown as EventsRepository;
    const sut = new EventPublisher(config, repo, new MetricsService());
    sut.publish('message.created', 'd1', new Set(['alice', 'bob']), { id: 'm1' });
    sut.publish('message.created', 'd1', new Set(['alice', 'bob']), { id: 'm2' });
    expect(appended).toEqual([]);
    await eventually(() => expect(appended.flat().map((e) => (e.payload as { id: string }).id)).toEqual(['m1', 'm2']));
    expect([...appended[0][0].recipients]).toEqual(['alice', 'bob']);
    await sut.onApplicationShutdown();
  });

  it('tells the recipients of events it had to give up to resync, in the first append that succeeds', async () => {
    const appended: NewEvent[][] = [];
    let attempts = 0;
    let up = false;
    const repo = {
      append: async (rows: NewEvent[]) => {
        attempts++;
        if (!up) throw new Error('dialogdb down');
        appended.push(rows);
      },
    } as unknown as EventsRepository;
    const sut = new EventPublisher(config, repo, new MetricsService());
    sut.publish('message.created', 'd1', ['alice', 'bob'], { id: 'lost' });
    await eventually(() => expect(attempts).toBe(1));
    // While it waits to retry, the queue overflows (it holds 20,000) and gives up the oldest.
    for (let i = 0; i < 20_000; i++) sut.publish('message.created', 'd2', ['carol'], { id: `m${i}` });
    up = true;
    await eventually(() => expect(appended.flat()).toHaveLength(1 + 20_000));
    const [first] = appended;
    expect([first[0].type, [...first[0].recipients]]).toEqual(['resync', ['alice', 'bob']]);
    expect(appended.flat().filter((e) => (e.payload as { id?: string }).id === 'lost')).toEqual([]);
    await sut.onApplicationShutdown();
  });
});
