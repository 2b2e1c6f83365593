import { freshRing, midpointSplit, planRingChange, ringHash } from '../ring';
import { RingState, routeDialog } from './router';

const ids = Array.from({ length: 400 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);

describe('routeDialog', () => {
  const ring = freshRing(['shard-0', 'shard-1']);
  const stable: RingState = { version: 1, ring, transition: null };

  it('sends a dialog to the owner of its CRC-32 on the ring', () => {
    for (const id of ids) {
      const sut = routeDialog(stable, id);
      expect(sut.hash).toBe(ringHash(id));
      expect(sut.write).toBe(sut.hash < 2147483647 ? 'shard-0' : 'shard-1');
      expect(sut.reads).toEqual([sut.write]);
    }
    expect(new Set(ids.map((id) => routeDialog(stable, id).write))).toEqual(new Set(['shard-0', 'shard-1']));
  });

  it('hashes the canonical lower-case id, so case does not change the shard', () => {
    const id = 'A7551824-C5FB-4035-B67B-306188A118C9';
    expect(routeDialog(stable, id).hash).toBe(routeDialog(stable, id.toLowerCase()).hash);
    expect(routeDialog(stable, id.toLowerCase()).hash).toBe(3379226269);
  });

  describe('during a split of shard-0 at 1073741823', () => {
    const moved = planRingChange(ring, midpointSplit(ring, 'shard-0', 'shard-2'));
    const inMovedArc = (id: string) => ringHash(id) >= 1073741823 && ringHash(id) < 2147483647;

    it('moves exactly the new half-arc', () => {
      expect(moved).toEqual([{ start: 1073741823, end: 2147483647, source: 'shard-0', target: 'shard-2' }]);
    });

    it('write-source: moved dialogs still write the source and read both, source first', () => {
      const state: RingState = { version: 2, ring, transition: { jobId: 'j', mode: 'write-source', moved } };
      for (const id of ids) {
        const sut = routeDialog(state, id);
        if (inMovedArc(id)) expect(sut).toMatchObject({ write: 'shard-0', reads: ['shard-0', 'shard-2'] });
        else expect(sut).toEqual(routeDialog(stable, id));
      }
      expect(ids.some(inMovedArc)).toBe(true);
    });

    it('write-target: moved dialogs write the target and read both, target first', () => {
      const state: RingState = { version: 3, ring, transition: { jobId: 'j', mode: 'write-target', moved } };
      for (const id of ids) {
        const sut = routeDialog(state, id);
        if (inMovedArc(id)) expect(sut).toMatchObject({ write: 'shard-2', reads: ['shard-2', 'shard-0'] });
        else expect(sut).toEqual(routeDialog(stable, id));
      }
    });
  });
});
