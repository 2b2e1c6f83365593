import { v7 as uuidv7 } from 'uuid';
import { uuidv7Floor, uuidv7Ms, uuidv7Time } from './uuidv7';

describe('UUIDv7 time', () => {
  const ms = Date.UTC(2026, 11, 7, 16, 42, 21, 903);

  it('reads the creation time from the first 48 bits', () => {
    const sut = uuidv7({ msecs: ms });
    expect(uuidv7Ms(sut)).toBe(ms);
    expect(uuidv7Time(sut).toISOString()).toBe('2026-12-07T16:42:21.903Z');
  });

  it('floors a millisecond below every UUIDv7 of it and later, above every earlier one', () => {
    const floor = uuidv7Floor(ms);
    expect(floor).toBe(`${ms.toString(16).padStart(12, '0').replace(/^(.{8})(.{4})$/, '$1-$2')}-0000-0000-000000000000`);
    for (let i = 0; i < 50; i++) {
      expect(uuidv7({ msecs: ms }) > floor).toBe(true);
      expect(uuidv7({ msecs: ms + 1 + i }) > floor).toBe(true);
      expect(uuidv7({ msecs: ms - 1 - i }) < floor).toBe(true);
    }
  });
});
