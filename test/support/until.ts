/** How long `until` waits, and what it adds to its failure. */
export interface UntilOptions {
  /** Default 10 s. */
  readonly timeoutMs?: number;
  /** Default: about 400 looks in the time allowed, between 10 and 250 ms apart. */
  readonly everyMs?: number;
  /** Called when time runs out; what it answers goes into the error (the state the test saw). */
  readonly explain?: () => unknown;
}

type Answer<T> = T | undefined | false;

/**
 * Waits until `probe` answers something other than undefined or false, and returns that; fails
 * naming `what` after the timeout. The one wait of the test suites: give a number for the
 * timeout alone.
 */
export async function until<T>(
  what: string,
  probe: () => Answer<T> | Promise<Answer<T>>,
  options: UntilOptions | number = {},
): Promise<T> {
  const { timeoutMs = 10_000, everyMs, explain } = typeof options === 'number' ? { timeoutMs: options } : options;
  const pause = everyMs ?? Math.min(250, Math.max(10, Math.round(timeoutMs / 400)));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await probe();
    if (answer !== undefined && answer !== false) return answer;
    if (Date.now() > deadline) {
      const state = explain === undefined ? '' : `: ${JSON.stringify(await explain())}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${state}`);
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

/**
 * Reads until `done` holds or the time is up, and returns the last reading either way: the
 * caller's assertions then say what was missing, better than a timeout could.
 */
export async function poll<T>(
  read: () => T | Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 180_000,
  everyMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
