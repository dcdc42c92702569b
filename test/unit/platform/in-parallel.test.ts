import { inParallel } from '../../../src/platform/in-parallel.ts';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('inParallel', () => {
  it('never has more than the limit in flight, and runs every item once', async () => {
    let inFlight = 0;
    let most = 0;
    const seen: number[] = [];
    await inParallel([1, 2, 3, 4, 5, 6, 7], 3, async (item) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await tick();
      await tick();
      seen.push(item);
      inFlight -= 1;
    });
    expect(most).toBe(3);
    expect(seen.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('with a limit of one, runs the items in order, one after the other', async () => {
    const events: string[] = [];
    await inParallel(['a', 'b', 'c'], 1, async (item) => {
      events.push(`start ${item}`);
      await tick();
      events.push(`end ${item}`);
    });
    expect(events).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('attempts every item when some fail, then throws the first failure', async () => {
    const done: number[] = [];
    const run = inParallel([1, 2, 3, 4], 2, async (item) => {
      await tick();
      if (item === 2 || item === 3) throw new Error(`item ${item} failed`);
      done.push(item);
    });
    await expect(run).rejects.toThrow('item 2 failed');
    expect(done.sort()).toEqual([1, 4]);
  });

  it('asks a limit given as a function again before each start, and allows one at the least', async () => {
    let allowed = 3;
    let inFlight = 0;
    let most = 0;
    const afterDrop: number[] = [];
    await inParallel(
      [1, 2, 3, 4, 5, 6, 7, 8],
      () => allowed,
      async (item) => {
        inFlight += 1;
        most = Math.max(most, inFlight);
        if (allowed === 0) afterDrop.push(inFlight);
        await tick();
        // The first to finish drops the limit to zero: from then on one at a time still runs.
        if (item === 1) allowed = 0;
        inFlight -= 1;
      },
    );
    expect(most).toBe(3);
    expect(afterDrop).toEqual([1, 1, 1, 1, 1]);
  });

  it('refuses a limit that is not a positive integer', async () => {
    await expect(inParallel([1], 0, () => Promise.resolve())).rejects.toThrow('positive integer');
  });
});
