import { randomUUID } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DialogAccessService, entryBytes } from './dialog-access.service';
import { DialogsRepository } from './dialogs.repository';

/** The participants dialogdb would answer, fresh strings each time as pg makes them. */
function fakeRepository(members: Map<string, string[]>) {
  const asked: string[] = [];
  const repository = {
    participants: async (dialogId: string) => {
      asked.push(dialogId);
      return (members.get(dialogId) ?? []).map((m) => `${m}`);
    },
  } as unknown as DialogsRepository;
  return { repository, asked };
}

const people = (n: number, tag: string) => Array.from({ length: n }, (_, k) => `user-${tag}-${k}`);

describe('DialogAccessService: the membership cache', () => {
  const MB = 1024 * 1024;

  it('never holds more than its byte budget, and forgets the least recently used dialogs first', async () => {
    const members = new Map<string, string[]>();
    const { repository, asked } = fakeRepository(members);
    const sut = new DialogAccessService(repository, { membershipCacheBytes: MB });
    const ids: string[] = [];
    // Far more than a megabyte's worth, one-to-one dialogs and big groups mixed.
    for (let i = 0; i < 5000; i++) {
      const id = randomUUID();
      const list = people(i % 10 === 0 ? 101 : 2, String(i));
      members.set(id, list);
      ids.push(id);
      sut.remember(id, list);
      expect(sut.cachedBytes).toBeLessThanOrEqual(MB);
    }
    // Full, not emptied by the evictions.
    expect(sut.cachedBytes).toBeGreaterThan(MB - entryBytes(ids[0], new Set(people(101, 'x'))));
    expect(sut.cachedDialogs).toBeLessThan(ids.length);

    await sut.assertParticipant(ids[ids.length - 1], 'user-4999-0');
    expect(asked).toEqual([]);
    await sut.assertParticipant(ids[0], 'user-0-0');
    expect(asked).toEqual([ids[0]]);
    // Reloaded, it counts again, and the budget still holds.
    expect(sut.cachedBytes).toBeLessThanOrEqual(MB);
  });

  it('estimates at least the heap its entries really take', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    for (const size of [2, 10, 101]) {
      const sut = new DialogAccessService(fakeRepository(new Map()).repository, { membershipCacheBytes: 1024 * MB });
      const count = size > 10 ? 2000 : 20_000;
      gc();
      const before = process.memoryUsage().heapUsed;
      for (let i = 0; i < count; i++) sut.remember(randomUUID(), people(size, String(i)));
      gc();
      const used = process.memoryUsage().heapUsed - before;
      expect({ size, used: used <= sut.cachedBytes, perEntry: Math.round(used / count), estimated: Math.round(sut.cachedBytes / count) }).toMatchObject({ used: true });
    }
  });
});
