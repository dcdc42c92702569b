/**
 * Runs `task` over `items` with at most `limit` in flight. Every item is attempted even when
 * some fail (a worker's batch must not leave jobs untouched behind one that threw: they would
 * wait for their lease to expire); once all have settled, the first failure is thrown.
 */
export async function inParallel<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  if (!Number.isInteger(limit) || limit < 1)
    throw new Error(`inParallel: limit must be a positive integer (got ${limit})`);
  const failures: unknown[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let index = next++; index < items.length; index = next++) {
      try {
        await task(items[index] as T);
      } catch (error) {
        failures.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (failures.length > 0) throw failures[0];
}
