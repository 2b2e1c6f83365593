/**
 * Makes databases for new shards. The embedded default starts a new Postgres server per
 * shard; with external databases there is none, and targets are registered beforehand with
 * POST /admin/shards.
 */
export interface ShardProvisioner {
  /** Starts an empty database for a new shard and returns its URL. */
  provision(name: string): Promise<string>;
  /** The shard's data has moved away: stop its server and set its data aside (never deleted). */
  retire(name: string): Promise<void>;
}

export const SHARD_PROVISIONER = Symbol('SHARD_PROVISIONER');
