/**
 * The seed's "Lady Gaga effect": one dialog (or a few) so busy that its shard takes most of
 * the writes. Operators split such a shard; this decides which shard to point them at.
 */

export interface ShardLoad {
  name: string;
  /** null: registered but on no arc (a spare or a reshard target). */
  point: number | null;
  rows: number | null;
  /** Messages sent per second over the last minute (live writes only); null while the shard is down. */
  writeRate: number | null;
}

export interface LoadRanking {
  /** 1 = most write load, by writeRate then rows; null for shards on no arc. */
  loadRank: number | null;
  /** True for at most one shard: the one to split. */
  splitCandidate: boolean;
}

/** A shard is only called hot when it takes clearly more than its share: this many times the others' mean... */
export const HOT_FACTOR = 1.5;
/** ...and at least this many inserts per second over the last minute, so a few stray writes on an idle system mark nothing. */
export const HOT_FLOOR_PER_SEC = 1;

/**
 * Ranks the shards on the ring by write load and marks the one to split.
 *
 * - Rank: by writeRate (unknown counts as lowest), then rows (unknown lowest), then ring
 *   order, so ties are stable. Shards on no arc get no rank: they take no traffic of their own.
 * - Split candidate: the rank-1 shard, if its writeRate is at least HOT_FLOOR_PER_SEC and
 *   greater than HOT_FACTOR times the mean writeRate of the other ring shards (unknown
 *   counts as 0). With a single shard, the floor alone decides. Never while a reshard runs
 *   or within a rate window after one (`reshardInWindow`): one reshard at a time, and the
 *   window's rates were counted by the old layout. The rates count live writes only, so the
 *   shard that has just received an arc does not look hot for the copier's rows.
 *
 * Returns one entry per input, in the input's order (callers keep ring order).
 */
export function rankShardLoad(shards: readonly ShardLoad[], { reshardInWindow = false } = {}): LoadRanking[] {
  const onRing = shards.map((s, index) => ({ s, index })).filter(({ s }) => s.point !== null);
  const key = (v: number | null) => (v === null ? -1 : v);
  const ranked = [...onRing].sort(
    (a, b) => key(b.s.writeRate) - key(a.s.writeRate) || key(b.s.rows) - key(a.s.rows) || a.index - b.index,
  );
  const result: LoadRanking[] = shards.map(() => ({ loadRank: null, splitCandidate: false }));
  ranked.forEach(({ index }, i) => (result[index].loadRank = i + 1));

  const top = ranked[0];
  if (!top || reshardInWindow || top.s.writeRate === null) return result;
  const others = ranked.slice(1).map(({ s }) => s.writeRate ?? 0);
  const othersMean = others.length ? others.reduce((a, b) => a + b, 0) / others.length : 0;
  if (top.s.writeRate >= HOT_FLOOR_PER_SEC && top.s.writeRate > HOT_FACTOR * othersMean) {
    result[top.index].splitCandidate = true;
  }
  return result;
}
