import { freshRing, midpointSplit, planRingChange, ringHash } from '../ring';
import { COPY_COMPLETE, copiedPast, RingState, routeDialog } from './router';

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

    it('write-target: a moved dialog the copier is past reads the target alone', () => {
      const checkpoint = 1610612735; // halfway through the moved arc
      const state: RingState = { version: 3, ring, transition: { jobId: 'j', mode: 'write-target', moved }, copied: { segment: 0, hash: checkpoint } };
      for (const id of ids.filter(inMovedArc)) {
        const reads = ringHash(id) < checkpoint ? ['shard-2'] : ['shard-2', 'shard-0'];
        expect(routeDialog(state, id)).toMatchObject({ write: 'shard-2', reads });
      }
      expect(ids.filter(inMovedArc).some((id) => ringHash(id) < checkpoint)).toBe(true);
      expect(ids.filter(inMovedArc).some((id) => ringHash(id) >= checkpoint)).toBe(true);
      const complete: RingState = { ...state, copied: COPY_COMPLETE };
      for (const id of ids.filter(inMovedArc)) expect(routeDialog(complete, id).reads).toEqual(['shard-2']);
    });

    it('write-source ignores copy progress: a cancel reads both shards', () => {
      const state: RingState = { version: 4, ring, transition: { jobId: 'j', mode: 'write-source', moved }, copied: COPY_COMPLETE };
      for (const id of ids.filter(inMovedArc)) expect(routeDialog(state, id).reads).toEqual(['shard-0', 'shard-2']);
    });
  });
});

describe('copiedPast', () => {
  // A moved arc across 0 is two SQL segments, copied in this order: [4000000000, 2^32), then [0, 100).
  const moved = [{ start: 4_000_000_000, end: 100, source: 'shard-1', target: 'shard-2' }];

  it('follows the copier through segments in order, the checkpoint hash itself not yet done', () => {
    expect(copiedPast(moved, { segment: 0, hash: 4_100_000_000 }, 4_000_000_000)).toBe(true);
    expect(copiedPast(moved, { segment: 0, hash: 4_100_000_000 }, 4_100_000_000)).toBe(false);
    expect(copiedPast(moved, { segment: 0, hash: 4_100_000_000 }, 50)).toBe(false);
    expect(copiedPast(moved, { segment: 1, hash: 60 }, 4_200_000_000)).toBe(true);
    expect(copiedPast(moved, { segment: 1, hash: 60 }, 50)).toBe(true);
    expect(copiedPast(moved, { segment: 1, hash: 60 }, 70)).toBe(false);
    expect(copiedPast(moved, COPY_COMPLETE, 99)).toBe(true);
  });

  it('says no for a hash outside the moved arcs', () => {
    expect(copiedPast(moved, COPY_COMPLETE, 200)).toBe(false);
  });
});
