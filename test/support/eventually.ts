/**
 * Retries `fn` until it stops throwing (e.g. its `expect`s pass) and returns its value;
 * after `timeoutMs` the last error is rethrown. Use it instead of fixed sleeps when
 * waiting for background work. Does not work under jest fake timers.
 */
export async function eventually<T>(
  fn: () => Promise<T> | T,
  { timeoutMs = 10_000, intervalMs = 50 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() + intervalMs > deadline) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
