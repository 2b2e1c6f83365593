import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { CloseReason, EventStream } from './event-stream';

/** A response that keeps what is written and reports as unsent whatever `stalled` says. */
class FakeResponse extends EventEmitter {
  written: string[] = [];
  ended = false;
  destroyed = false;
  stalled = 0;
  get writableLength(): number {
    return this.stalled;
  }
  write(chunk: string): boolean {
    this.written.push(chunk);
    return true;
  }
  end(chunk?: string): void {
    if (chunk) this.written.push(chunk);
    this.ended = true;
  }
  destroy(): void {
    this.destroyed = true;
  }
}

describe('EventStream', () => {
  let res: FakeResponse;
  let ends: CloseReason[];
  const sut = (maxBufferBytes = 1000) => new EventStream('req-1', 'alice', res as unknown as ServerResponse, maxBufferBytes, (_s, reason) => ends.push(reason));

  beforeEach(() => {
    res = new FakeResponse();
    ends = [];
  });

  it('holds live events while it catches up, then sends the ones past its position, in order', () => {
    const stream = sut();
    expect(stream.offer(5, 'x', 'e5')).toBe(false);
    expect(stream.offer(7, 'x', 'e7')).toBe(false);
    // The replay sent up to 5.
    stream.send(4, 'e4');
    stream.send(5, 'e5');
    expect(stream.goLive(5).map((h) => h.id)).toEqual([7]);
    expect(stream.offer(8, 'x', 'e8')).toBe(true);
    expect(res.written).toEqual(['e4', 'e5', 'e7', 'e8']);
  });

  it('never sends an id at or below one it has sent', () => {
    const stream = sut();
    stream.goLive(10);
    expect(stream.offer(10, 'x', 'e10')).toBe(false);
    expect(stream.offer(11, 'x', 'e11')).toBe(true);
    expect(stream.offer(11, 'x', 'e11')).toBe(false);
    expect(res.written).toEqual(['e11']);
  });

  it('drops a consumer whose unsent bytes pass the bound, with a last close event, and frees the socket', () => {
    jest.useFakeTimers();
    try {
      const stream = sut(100);
      stream.goLive(0);
      res.stalled = 101;
      stream.offer(1, 'x', 'e1');
      expect(ends).toEqual(['slow_consumer']);
      expect(stream.open).toBe(false);
      expect(res.ended).toBe(true);
      expect(res.written.at(-1)).toMatch(/^event: close\ndata: \{"reason":"slow_consumer"/);
      expect(stream.offer(2, 'x', 'e2')).toBe(false);
      // A stalled client never drains what end() queued: the socket goes anyway.
      jest.advanceTimersByTime(1000);
      expect(res.destroyed).toBe(true);
    } finally {
      jest.useRealTimers();
    }
  });

  it('marks an overflowing backlog, dropping what it held', () => {
    const stream = sut(10);
    stream.offer(1, 'x', 'x'.repeat(6));
    stream.offer(2, 'x', 'x'.repeat(6));
    expect(stream.overflowed).toBe(true);
    expect(stream.goLive(0)).toEqual([]);
  });

  it('reports a client that went away once, and writes nothing after', () => {
    const stream = sut();
    res.emit('close');
    res.emit('close');
    expect(ends).toEqual(['client']);
    stream.close('shutdown');
    expect(res.written).toEqual([]);
  });
});
