/**
 * A sleep a stop can cut short. Worker loops wait between rounds with it, and stop() wakes them so
 * a shutdown does not wait out an idle interval (or a handler's retry delay).
 */
export interface WakeableSleep {
  readonly sleep: (ms: number) => Promise<void>;
  /** Ends the current sleep now, if there is one (a plain function: it is handed to others). */
  readonly wake: () => void;
}

export function wakeableSleep(): WakeableSleep {
  let wakeUp: (() => void) | undefined;
  return {
    sleep: (ms) =>
      new Promise((resolve) => {
        const timer = setTimeout(() => {
          wakeUp = undefined;
          resolve();
        }, ms);
        wakeUp = () => {
          clearTimeout(timer);
          wakeUp = undefined;
          resolve();
        };
      }),
    wake: () => {
      wakeUp?.();
    },
  };
}
