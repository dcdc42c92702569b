/**
 * Runs `task` over `items` with at most `limit` in flight — a number, or a function asked again
 * before each start (an adaptive limit; at least 1 is always allowed). Every item is attempted
 * even when some fail (a worker's batch must not leave jobs untouched behind one that threw:
 * they would wait for their lease to expire); once all have settled, the first failure is thrown.
 */
export function inParallel<T>(
  items: readonly T[],
  limit: number | (() => number),
  task: (item: T) => Promise<void>,
): Promise<void> {
  if (typeof limit === 'number' && (!Number.isInteger(limit) || limit < 1))
    return Promise.reject(new Error(`inParallel: limit must be a positive integer (got ${limit})`));
  const allowed = typeof limit === 'number' ? () => limit : () => Math.max(1, limit());
  const failures: unknown[] = [];
  let next = 0;
  let active = 0;
  return new Promise((resolve, reject) => {
    const pump = (): void => {
      while (next < items.length && active < allowed()) {
        const item = items[next++] as T;
        active += 1;
        // A task that throws synchronously counts as failed like one that rejects.
        Promise.resolve()
          .then(() => task(item))
          .catch((error: unknown) => {
            failures.push(error);
          })
          .finally(() => {
            active -= 1;
            pump();
          });
      }
      if (active === 0 && next >= items.length) {
        if (failures.length > 0) reject(failures[0] instanceof Error ? failures[0] : new Error(String(failures[0])));
        else resolve();
      }
    };
    pump();
  });
}
