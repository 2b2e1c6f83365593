import { TokenBuckets } from './token-bucket';

describe('TokenBuckets', () => {
  function clocked(perMinute: number, burst: number, maxKeys = 100) {
    let now = 0;
    const sut = new TokenBuckets({ perMinute, burst }, maxKeys, () => now);
    return { sut, advance: (ms: number) => (now += ms) };
  }

  it('lets a quiet user burst, then refuses with the whole seconds until the next token', () => {
    const { sut } = clocked(60, 3);
    expect([sut.take('a'), sut.take('a'), sut.take('a')]).toEqual([0, 0, 0]);
    expect(sut.take('a')).toBe(1);
    // Refusals take nothing: the wait does not grow while the user keeps knocking.
    expect(sut.take('a')).toBe(1);
  });

  it('answers again once the Retry-After it gave has passed, and not before', () => {
    const { sut, advance } = clocked(7, 1);
    expect(sut.take('a')).toBe(0);
    const wait = sut.take('a');
    expect(wait).toBe(Math.ceil(60 / 7));
    advance(wait * 1000 - 600);
    expect(sut.take('a')).toBe(1);
    advance(600);
    expect(sut.take('a')).toBe(0);
  });

  it('refills at perMinute up to burst, never beyond', () => {
    const { sut, advance } = clocked(120, 2);
    sut.take('a');
    sut.take('a');
    advance(60_000);
    expect([sut.take('a'), sut.take('a'), sut.take('a')]).toEqual([0, 0, 1]);
  });

  it('keeps each key apart', () => {
    const { sut } = clocked(60, 1);
    expect(sut.take('a')).toBe(0);
    expect(sut.take('a')).toBe(1);
    expect(sut.take('b')).toBe(0);
  });

  it('keeps at most maxKeys buckets, forgetting the least recently used', () => {
    const { sut } = clocked(60, 1, 2);
    sut.take('a');
    sut.take('b');
    sut.take('c');
    expect(sut.size).toBe(2);
    // 'a' was forgotten, so it starts full again; 'c' was not.
    expect(sut.take('c')).toBe(1);
    expect(sut.take('a')).toBe(0);
  });

  it('refuses a limit that could never let anything through', () => {
    expect(() => new TokenBuckets({ perMinute: 0, burst: 1 }, 10)).toThrow();
    expect(() => new TokenBuckets({ perMinute: 60, burst: 0 }, 10)).toThrow();
  });
});
