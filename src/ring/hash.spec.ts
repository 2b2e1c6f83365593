import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { MAX_POINT, RING_SIZE, ringHash } from './hash';

describe('ringHash', () => {
  it.each([
    { name: 'DESIGN check value', id: '123456789', expected: 3421780262 },
    { name: 'empty id', id: '', expected: 0 },
    { name: 'canonical uuid', id: '3f2504e0-4f89-11d3-9a0c-0305e82c3301', expected: 3004475550 },
    { name: 'upper-case uuid hashes like its canonical form', id: '3F2504E0-4F89-11D3-9A0C-0305E82C3301', expected: 3004475550 },
    // 'été' hashed as a binary string (crc-32's bstr) would give 3422016531 instead.
    { name: 'non-ASCII is hashed as UTF-8 bytes', id: 'ÉTÉ', expected: 1154575572 },
  ])('$name', ({ id, expected }) => {
    expect(ringHash(id)).toBe(expected);
  });

  it('constants are the uint32 bounds', () => {
    expect(MAX_POINT).toBe(2 ** 32 - 1);
    expect(RING_SIZE).toBe(2 ** 32);
  });

  it('is unsigned CRC-32 (IEEE) of the lower-cased UTF-8 bytes, as zlib computes it', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (id) => {
        const hash = ringHash(id);
        expect(Number.isInteger(hash) && hash >= 0 && hash <= MAX_POINT).toBe(true);
        expect(hash).toBe(crc32(Buffer.from(id.toLowerCase(), 'utf8')));
      }),
    );
  });
});
