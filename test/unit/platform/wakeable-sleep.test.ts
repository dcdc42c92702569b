// A loop's idle wait: a stop ends it at once, and a signal may bring its end nearer but never
// push it further away.
import { wakeableSleep } from '../../../src/platform/wakeable-sleep.ts';

async function timed(run: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

describe('wakeable sleep', () => {
  it('wake ends a long sleep at once', async () => {
    const idle = wakeableSleep();
    const took = timed(() => idle.sleep(60_000));
    idle.wake();
    expect(await took).toBeLessThan(1_000);
  });

  it('shorten ends a long sleep within the shorter time', async () => {
    const idle = wakeableSleep();
    const took = timed(() => idle.sleep(60_000));
    idle.shorten(20);
    const ms = await took;
    expect(ms).toBeGreaterThanOrEqual(15);
    expect(ms).toBeLessThan(5_000);
  });

  it('shorten does not make a sleep that ends sooner any longer', async () => {
    const idle = wakeableSleep();
    const took = timed(() => idle.sleep(20));
    idle.shorten(60_000);
    expect(await took).toBeLessThan(5_000);
  });

  it('wake and shorten outside a sleep change nothing, and the next sleep runs its full time', async () => {
    const idle = wakeableSleep();
    idle.wake();
    idle.shorten(0);
    expect(await timed(() => idle.sleep(30))).toBeGreaterThanOrEqual(25);
  });
});
