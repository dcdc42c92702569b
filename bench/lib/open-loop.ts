/**
 * An open-loop load: call n is due at start + n / rate, and is started when due whatever the
 * earlier calls are doing — as a hospital's clinics send, not as a client that waits for its
 * answer before sending more. Each latency runs from when the call was due, so a service (or a
 * client) that stalls is charged for the calls it held up, and no correction has to be guessed.
 *
 * Why not autocannon's `overallRate`: it lets each connection send its share of a second back to
 * back from the start of every second and then idle, so 1,000 req/s over 64 connections is a
 * burst of 64 in flight every second; and it "corrects" every latency with an expected interval
 * of 1 ms, adding synthetic samples for each millisecond of every answer.
 */
export interface OpenLoopFigures {
  /** Calls that resolved true. */
  readonly ok: number;
  /** Calls that resolved false or threw. */
  readonly errors: number;
  /** Seconds from the first call due to the last answer. */
  readonly seconds: number;
  /** Milliseconds from due to answered, of the calls that resolved true, ascending. */
  readonly latenciesMs: readonly number[];
}

export async function openLoop(
  rate: number,
  seconds: number,
  call: (n: number) => Promise<boolean>,
): Promise<OpenLoopFigures> {
  const total = Math.round(rate * seconds);
  const latencies: number[] = [];
  const inFlight = new Set<Promise<void>>();
  let errors = 0;
  let started = 0;
  const startedAt = performance.now();

  const run = async (n: number): Promise<void> => {
    const dueAt = startedAt + (n * 1000) / rate;
    try {
      if (await call(n)) latencies.push(performance.now() - dueAt);
      else errors += 1;
    } catch {
      errors += 1;
    }
  };

  await new Promise<void>((resolve) => {
    // Every timer tick (about a millisecond) starts what is due by then.
    const tick = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - startedAt) / 1000) * rate) + 1);
      while (started < due) {
        const pending = run(started);
        started += 1;
        inFlight.add(pending);
        void pending.finally(() => inFlight.delete(pending));
      }
      if (started >= total) {
        clearInterval(tick);
        resolve();
      }
    }, 1);
  });
  await Promise.all(inFlight);
  return {
    ok: latencies.length,
    errors,
    seconds: (performance.now() - startedAt) / 1000,
    latenciesMs: latencies.sort((a, b) => a - b),
  };
}

/** The nearest-rank percentile of ascending values. */
export function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)] ?? Number.NaN;
}
