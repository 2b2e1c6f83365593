/**
 * JSON bodies may nest this deep, counting the body itself as 1. No request of this API
 * nests beyond 2 (an array of participant ids); the room above is for clients' mistakes,
 * which then get validation's message instead of this one.
 */
export const MAX_BODY_DEPTH = 32;

/**
 * True when a parsed JSON value nests arrays and objects deeper than `max`. Iterative, so
 * it cannot itself overflow the stack the way class-transformer, which recurses into every
 * property (unknown ones too), did on a few thousand nested arrays.
 */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const pending: Array<[unknown, number]> = [[value, 1]];
  while (pending.length) {
    const [item, depth] = pending.pop()!;
    if (typeof item !== 'object' || item === null) continue;
    if (depth > max) return true;
    for (const child of Array.isArray(item) ? item : Object.values(item)) {
      if (typeof child === 'object' && child !== null) pending.push([child, depth + 1]);
    }
  }
  return false;
}
