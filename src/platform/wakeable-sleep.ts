/**
 * A sleep a stop can cut short. Worker loops wait between rounds with it, and stop() wakes them so
 * a shutdown does not wait out an idle interval (or a handler's retry delay).
 */
export interface WakeableSleep {
  readonly sleep: (ms: number) => Promise<void>;
  /** Ends the current sleep now, if there is one (a plain function: it is handed to others). */
  readonly wake: () => void;
  /** Ends the current sleep within `ms` from now, if it would otherwise last longer. */
  readonly shorten: (ms: number) => void;
}

export function wakeableSleep(): WakeableSleep {
  let current: { timer: NodeJS.Timeout; endsAt: number; end: () => void } | undefined;
  return {
    sleep: (ms) =>
      new Promise((resolve) => {
        const end = () => {
          if (current !== undefined) clearTimeout(current.timer);
          current = undefined;
          resolve();
        };
        current = { timer: setTimeout(end, ms), endsAt: performance.now() + ms, end };
      }),
    wake: () => {
      current?.end();
    },
    shorten: (ms) => {
      if (current === undefined || current.endsAt - performance.now() <= ms) return;
      clearTimeout(current.timer);
      current.timer = setTimeout(current.end, ms);
      current.endsAt = performance.now() + ms;
    },
  };
}
