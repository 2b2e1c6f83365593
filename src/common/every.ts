/** Runs `task` every `ms` without keeping the process alive; a failure goes to `onError` and the next run comes anyway. */
export function every(ms: number, task: () => Promise<unknown>, onError: (err: Error) => void): NodeJS.Timeout {
  const timer = setInterval(() => void task().catch(onError), ms);
  timer.unref();
  return timer;
}
