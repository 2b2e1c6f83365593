import { LiveWrites, RATE_WINDOW_MS } from './live-writes';

describe('LiveWrites', () => {
  let now: number;
  const clock = () => now;

  beforeEach(() => {
    now = 1_000_000;
  });

  it('averages each shard over the last minute', () => {
    const sut = new LiveWrites(clock);
    now += RATE_WINDOW_MS;
    for (let i = 0; i < 120; i++) sut.record('shard-1');
    sut.record('shard-0', 30);
    expect(sut.rates()).toEqual({ 'shard-0': 0.5, 'shard-1': 2 });
  });

  it('averages over the time since start when that is shorter, but at least a second', () => {
    const sut = new LiveWrites(clock);
    sut.record('shard-0', 3);
    expect(sut.rates()).toEqual({ 'shard-0': 3 });
    now += 10_000;
    expect(sut.rates()).toEqual({ 'shard-0': 0.3 });
  });

  it('forgets writes older than the window, and a shard with none left', () => {
    const sut = new LiveWrites(clock);
    sut.record('shard-0', 60);
    now += RATE_WINDOW_MS / 2;
    sut.record('shard-1', 60);
    now += RATE_WINDOW_MS / 2 + 1_000;
    expect(sut.rates()).toEqual({ 'shard-1': 1 });
    now += RATE_WINDOW_MS;
    expect(sut.rates()).toEqual({});
  });
});
