import { nestsDeeperThan } from './json-depth';

describe('nestsDeeperThan', () => {
  const arrays = (depth: number): unknown => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`);

  it('counts the body itself as level 1', () => {
    expect(nestsDeeperThan({ participantIds: ['a'] }, 2)).toBe(false);
    expect(nestsDeeperThan({ participantIds: ['a'] }, 1)).toBe(true);
    expect(nestsDeeperThan(arrays(3), 3)).toBe(false);
    expect(nestsDeeperThan(arrays(4), 3)).toBe(true);
  });

  it('finds deep nesting in any branch, objects and arrays alike', () => {
    expect(nestsDeeperThan({ a: 1, b: [{ c: { d: [] } }] }, 4)).toBe(true);
    expect(nestsDeeperThan({ a: 1, b: [{ c: { d: 'x' } }] }, 4)).toBe(false);
  });

  it('treats scalars as depth 0', () => {
    for (const value of ['x', 1, null, true, undefined]) expect(nestsDeeperThan(value, 0)).toBe(false);
  });

  it('walks a body of 30,000 levels without overflowing the stack', () => {
    expect(nestsDeeperThan({ zz: arrays(30_000) }, 32)).toBe(true);
  });
});
