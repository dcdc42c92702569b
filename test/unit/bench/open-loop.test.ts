import { openLoop, percentile } from '../../../bench/lib/open-loop.ts';

describe('the open-loop load', () => {
  it('makes rate × seconds calls, each numbered once, and counts the false and the thrown as errors', async () => {
    const seen: number[] = [];
    const figures = await openLoop(500, 0.2, (n) => {
      seen.push(n);
      if (n === 3) return Promise.reject(new Error('refused'));
      return Promise.resolve(n !== 5);
    });
    expect(seen).toEqual(Array.from({ length: 100 }, (_, n) => n));
    expect(figures.ok).toBe(98);
    expect(figures.errors).toBe(2);
  });

  it('does not wait for an answer before sending the next call', async () => {
    let inFlight = 0;
    let most = 0;
    await openLoop(1000, 0.1, async () => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 30));
      inFlight -= 1;
      return true;
    });
    expect(most).toBeGreaterThan(10);
  });

  it('charges a stall to the calls that fell due during it, counting from when each was due', async () => {
    const figures = await openLoop(1000, 0.1, (n) => {
      if (n === 0) {
        const until = performance.now() + 40;
        while (performance.now() < until); // the client's loop stands still: nothing else is sent
      }
      return Promise.resolve(true);
    });
    // Calls due in the 40 ms stall went out late; a client that timed from its own send would say ~0.
    expect(percentile(figures.latenciesMs, 0.8)).toBeGreaterThan(10);
  });
});

describe('percentile', () => {
  it('is the nearest rank of ascending values', () => {
    const values = Array.from({ length: 100 }, (_, n) => n + 1);
    expect(percentile(values, 0.5)).toBe(50);
    expect(percentile(values, 0.99)).toBe(99);
    expect(percentile([], 0.5)).toBeNaN();
  });
});
