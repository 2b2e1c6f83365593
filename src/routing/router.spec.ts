import { freshRing, ringHash } from '../ring';
import { routeDialog } from './router';

describe('routeDialog', () => {
  const state = { version: 1, ring: freshRing(['shard-0', 'shard-1']) };

  it('sends a dialog to the owner of its CRC-32 on the ring', () => {
    // Hashes chosen on both sides of the 2147483647 boundary of the two-shard ring.
    const low = 'a7551824-c5fb-4035-b67b-306188a118c8';
    const ids = Array.from({ length: 200 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    for (const id of [low, ...ids]) {
      const sut = routeDialog(state, id);
      expect(sut.hash).toBe(ringHash(id));
      expect(sut.write).toBe(sut.hash < 2147483647 ? 'shard-0' : 'shard-1');
      expect(sut.reads).toEqual([sut.write]);
    }
    const owners = new Set(ids.map((id) => routeDialog(state, id).write));
    expect(owners).toEqual(new Set(['shard-0', 'shard-1']));
  });

  it('hashes the canonical lower-case id, so case does not change the shard', () => {
    const id = 'A7551824-C5FB-4035-B67B-306188A118C9';
    expect(routeDialog(state, id).hash).toBe(routeDialog(state, id.toLowerCase()).hash);
    expect(routeDialog(state, id.toLowerCase()).hash).toBe(3379226269);
  });
});
