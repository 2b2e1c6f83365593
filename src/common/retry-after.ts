/**
 * What every 503 tells clients in Retry-After: the causes (a shard or dialogdb down, a ring
 * not refreshed) fail fast and clear within seconds, so a second apart is a fair retry.
 */
export const UNAVAILABLE_RETRY_AFTER_S = 1;

/** Retry-After as the service sends it, for the OpenAPI document: whole seconds. */
export const RETRY_AFTER_HEADER = {
  'Retry-After': { description: 'whole seconds after which the same request may succeed', schema: { type: 'integer' } },
};
