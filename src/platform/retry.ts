/**
 * The one retry module (STYLE.md §8). Two uses:
 *
 * - Durable retries across hours and days (the ehr-delivery worker): the outbox row keeps only
 *   `attempts` and its first attempt time, so the worker asks `nextRunAt()` when to run again and
 *   `retryHorizonReached()` whether to give up. Nothing sleeps in-process.
 * - Short in-process retries (connecting at start-up): `retry(fn, policy, { signal, bail })`.
 *
 * Backoff: capped exponential with FULL jitter — the delay after attempt n is uniform on
 * [0, min(maxDelayMs, initialDelayMs × multiplier^(n-1))). Chosen over decorrelated jitter
 * because it depends on the attempt number alone (decorrelated jitter needs the previous delay,
 * which the outbox does not store), and because it spreads many jobs that failed together (an
 * EHR outage fails every pending submission at once) evenly over the window instead of
 * bunching them. Full jitter can draw a short delay late in an outage; that costs nothing,
 * because while the EHR is down the circuit breaker answers such attempts without a request.
 *
 * Horizon (production defaults, EHR_RETRY_* in config.ts): first delay up to 2 s, doubling to a
 * cap of 10 min (reached at attempt 10), retried for 7 days (168 h) after the first attempt.
 * That is about 2 000 attempts per submission over the horizon: the ramp (attempts 1–9) takes
 * ~8.5 min on average, then one attempt every 5 min on average; simulated, 1 940–2 120 attempts
 * (median 2 023), and at least 1 016 even if every delay drew its cap. The horizon, not a count,
 * ends the retrying: a submission still failing after 7 days is marked failed, visibly.
 */
import { Problem } from './problem.ts';

export interface RetryPolicy {
  /** Upper bound of the first delay (the jitter draws below it). */
  readonly initialDelayMs: number;
  /** No delay is longer than this (apart from an honoured Retry-After). */
  readonly maxDelayMs: number;
  /** Growth of the upper bound per attempt. */
  readonly multiplier: number;
  /** Give up once this long has passed since the first attempt. */
  readonly horizonMs: number;
  /** A Retry-After longer than this is honoured only up to this (a broken proxy must not park work for a month). */
  readonly maxRetryAfterMs: number;
}

const HOUR = 3_600_000;

/** The ehr-delivery worker's defaults; config.ts holds the same numbers as EHR_RETRY_* defaults. */
export const DEFAULT_EHR_RETRY_POLICY: RetryPolicy = {
  initialDelayMs: 2_000,
  maxDelayMs: 600_000,
  multiplier: 2,
  horizonMs: 168 * HOUR,
  maxRetryAfterMs: 6 * HOUR,
};

/** Short in-process retries, e.g. connecting to a peer at start-up: give up after a minute. */
export const DEFAULT_CONNECT_RETRY_POLICY: RetryPolicy = {
  initialDelayMs: 200,
  maxDelayMs: 5_000,
  multiplier: 2,
  horizonMs: 60_000,
  maxRetryAfterMs: 5_000,
};

/** For tests: the same shape, in milliseconds, so nothing really waits. */
export const FAST_TEST_RETRY_POLICY: RetryPolicy = {
  initialDelayMs: 1,
  maxDelayMs: 4,
  multiplier: 2,
  horizonMs: 1_000,
  maxRetryAfterMs: 10,
};

/** The EHR policy from the configuration (a cap below the first delay is raised to it). */
export function ehrRetryPolicy(config: {
  readonly EHR_RETRY_INITIAL_MS: number;
  readonly EHR_RETRY_MAX_MS: number;
  readonly EHR_RETRY_HORIZON_HOURS: number;
}): RetryPolicy {
  return {
    ...DEFAULT_EHR_RETRY_POLICY,
    initialDelayMs: config.EHR_RETRY_INITIAL_MS,
    maxDelayMs: Math.max(config.EHR_RETRY_INITIAL_MS, config.EHR_RETRY_MAX_MS),
    horizonMs: config.EHR_RETRY_HORIZON_HOURS * HOUR,
  };
}

/** The upper bound of the delay after `attempt` (1 = the first attempt failed). */
export function backoffCeiling(attempt: number, policy: RetryPolicy): number {
  const exponent = Math.max(0, Math.floor(attempt) - 1);
  // multiplier^exponent overflows to Infinity for large attempts; min() caps it all the same.
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** exponent);
}

/** Full jitter: uniform on [0, ceiling). `random` returns [0, 1) like Math.random. */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  return Math.floor(random() * backoffCeiling(attempt, policy));
}

/**
 * When to run again after `attempt` failed at `now`: the jittered backoff, but never earlier
 * than the server's Retry-After (itself capped at maxRetryAfterMs).
 */
export function nextRunAt(
  now: Date,
  attempt: number,
  policy: RetryPolicy,
  retryAfterMs?: number,
  random: () => number = Math.random,
): Date {
  const backoff = backoffDelay(attempt, policy, random);
  const honoured =
    retryAfterMs === undefined || !Number.isFinite(retryAfterMs)
      ? 0
      : Math.min(Math.max(0, retryAfterMs), policy.maxRetryAfterMs);
  return new Date(now.getTime() + Math.max(backoff, honoured));
}

/** True once the policy's horizon has passed since the first attempt: stop retrying, fail visibly. */
export function retryHorizonReached(firstAttemptAt: Date, now: Date, policy: RetryPolicy): boolean {
  return now.getTime() - firstAttemptAt.getTime() >= policy.horizonMs;
}

export interface RetryOptions {
  /** Aborting stops at once: a pending wait ends and retry() rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** True for an error not worth retrying: it is rethrown at once. Default: a Problem that is not retriable. */
  readonly bail?: (error: unknown) => boolean;
  /** At most this many attempts in all (the horizon still applies). */
  readonly maxAttempts?: number;
  /** Told before each wait, e.g. to log it. */
  readonly onRetry?: (info: { readonly error: unknown; readonly attempt: number; readonly delayMs: number }) => void;
  /** Injected in tests. */
  readonly random?: () => number;
  readonly now?: () => number;
  readonly sleep?: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
}

const notRetriableProblem = (error: unknown): boolean => error instanceof Problem && !error.retriable;

/**
 * Calls `fn` until it resolves; between failures waits the jittered backoff. Rethrows the last
 * error when `bail` says so, when maxAttempts is used up, or when the next wait would end past
 * the horizon.
 */
export async function retry<T>(
  fn: (attempt: number, signal: AbortSignal | undefined) => Promise<T>,
  policy: RetryPolicy,
  options: RetryOptions = {},
): Promise<T> {
  const { signal, bail = notRetriableProblem, maxAttempts = Infinity, onRetry } = options;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? abortableSleep;
  const started = now();
  for (let attempt = 1; ; attempt += 1) {
    signal?.throwIfAborted();
    try {
      return await fn(attempt, signal);
    } catch (error) {
      // An abort while fn ran is the caller stopping us, not a failure to retry.
      signal?.throwIfAborted();
      if (bail(error) || attempt >= maxAttempts) throw error;
      const delayMs = backoffDelay(attempt, policy, options.random);
      if (now() + delayMs - started > policy.horizonMs) throw error;
      onRetry?.({ error, attempt, delayMs });
      await sleep(delayMs, signal);
    }
  }
}

/** setTimeout as a promise that rejects with the signal's own reason when aborted. */
export function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
