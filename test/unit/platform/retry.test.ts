import { loadConfig } from '../../../src/platform/config.ts';
import { Problem, badRequest, unavailable } from '../../../src/platform/problem.ts';
import {
  DEFAULT_EHR_RETRY_POLICY,
  FAST_TEST_RETRY_POLICY,
  abortableSleep,
  backoffCeiling,
  backoffDelay,
  ehrRetryPolicy,
  nextRunAt,
  retry,
  retryHorizonReached,
  type RetryPolicy,
} from '../../../src/platform/retry.ts';

const policy: RetryPolicy = {
  initialDelayMs: 1_000,
  maxDelayMs: 60_000,
  multiplier: 2,
  horizonMs: 24 * 3_600_000,
  maxRetryAfterMs: 3_600_000,
};
const almostOne = (): number => 1 - Number.EPSILON;
const zero = (): number => 0;
const half = (): number => 0.5;

describe('backoff', () => {
  it('doubles its ceiling per attempt and stops at the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 20, 1_000_000].map((attempt) => backoffCeiling(attempt, policy))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000, 60_000,
    ]);
  });

  it('draws the delay with full jitter: from 0 up to (not including) the ceiling', () => {
    expect(backoffDelay(3, policy, zero)).toBe(0);
    expect(backoffDelay(3, policy, half)).toBe(2_000);
    expect(backoffDelay(3, policy, almostOne)).toBe(3_999);
    expect(backoffDelay(30, policy, almostOne)).toBe(59_999);
  });

  it('stays within [0, ceiling) for any random draw', () => {
    for (let attempt = 1; attempt <= 12; attempt += 1) {
      for (let i = 0; i < 200; i += 1) {
        const delay = backoffDelay(attempt, policy);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThan(backoffCeiling(attempt, policy));
      }
    }
  });

  it('uses Math.random when no source is injected, so two jobs that failed together spread out', () => {
    const delays = new Set(Array.from({ length: 20 }, () => backoffDelay(10, policy)));
    expect(delays.size).toBeGreaterThan(10);
  });
});

describe('nextRunAt', () => {
  const now = new Date('2026-03-02T10:00:00.000Z');

  it('is now plus the jittered backoff when the EHR sent no Retry-After', () => {
    expect(nextRunAt(now, 2, policy, undefined, half).toISOString()).toBe('2026-03-02T10:00:01.000Z');
  });

  it('honours a Retry-After later than the backoff', () => {
    expect(nextRunAt(now, 1, policy, 120_000, half).toISOString()).toBe('2026-03-02T10:02:00.000Z');
  });

  it('keeps the backoff when it is later than the Retry-After (never earlier than either)', () => {
    expect(nextRunAt(now, 7, policy, 5_000, half).toISOString()).toBe('2026-03-02T10:00:30.000Z');
  });

  it('caps an absurd Retry-After at maxRetryAfterMs', () => {
    expect(nextRunAt(now, 1, policy, 30 * 24 * 3_600_000, zero).toISOString()).toBe('2026-03-02T11:00:00.000Z');
  });

  it('ignores a negative or non-finite Retry-After', () => {
    expect(nextRunAt(now, 1, policy, -5_000, zero).getTime()).toBe(now.getTime());
    expect(nextRunAt(now, 1, policy, Number.NaN, zero).getTime()).toBe(now.getTime());
  });
});

describe('retry horizon', () => {
  const first = new Date('2026-03-01T00:00:00.000Z');

  it('is reached exactly when the horizon has passed since the first attempt', () => {
    const horizon = DEFAULT_EHR_RETRY_POLICY.horizonMs;
    expect(horizon).toBe(7 * 24 * 3_600_000);
    expect(retryHorizonReached(first, new Date(first.getTime() + horizon - 1), DEFAULT_EHR_RETRY_POLICY)).toBe(false);
    expect(retryHorizonReached(first, new Date(first.getTime() + horizon), DEFAULT_EHR_RETRY_POLICY)).toBe(true);
  });

  it('gives roughly 2 000 attempts over the default 7 days, as the module comment says', () => {
    // The same arithmetic the worker does, with a seeded source so the count is repeatable.
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let at = first;
    let attempts = 0;
    while (!retryHorizonReached(first, at, DEFAULT_EHR_RETRY_POLICY)) {
      attempts += 1;
      at = nextRunAt(at, attempts, DEFAULT_EHR_RETRY_POLICY, undefined, random);
    }
    expect(attempts).toBeGreaterThan(1_900);
    expect(attempts).toBeLessThan(2_150);
  });

  it('reads its numbers from the configuration, defaults matching the documented policy', () => {
    const result = loadConfig({ AUTH_MODE: 'off' });
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(ehrRetryPolicy(result.config)).toEqual(DEFAULT_EHR_RETRY_POLICY);
    const custom = loadConfig({
      AUTH_MODE: 'off',
      EHR_RETRY_INITIAL_MS: '500',
      EHR_RETRY_MAX_MS: '100',
      EHR_RETRY_HORIZON_HOURS: '2',
    });
    if (!custom.ok) throw new Error(custom.errors.join('\n'));
    // A cap below the first delay is raised to it rather than inverting the backoff.
    expect(ehrRetryPolicy(custom.config)).toMatchObject({ initialDelayMs: 500, maxDelayMs: 500, horizonMs: 7_200_000 });
  });
});

describe('retry()', () => {
  const instantSleep = jest.fn((_ms: number, signal: AbortSignal | undefined) => {
    signal?.throwIfAborted();
    return Promise.resolve();
  });
  beforeEach(() => {
    instantSleep.mockClear();
  });

  it('retries until fn succeeds, waiting the jittered backoff between attempts', async () => {
    const fn = jest
      .fn<Promise<string>, [number, AbortSignal | undefined]>()
      .mockRejectedValueOnce(new Error('ECONNREFUSED'))
      .mockRejectedValueOnce(new Error('ECONNREFUSED'))
      .mockResolvedValue('connected');
    const onRetry = jest.fn();
    await expect(retry(fn, policy, { sleep: instantSleep, random: half, onRetry })).resolves.toBe('connected');
    expect(fn.mock.calls.map(([attempt]) => attempt)).toEqual([1, 2, 3]);
    expect(instantSleep.mock.calls.map(([ms]) => ms)).toEqual([500, 1_000]);
    expect(onRetry).toHaveBeenCalledWith(expect.objectContaining({ attempt: 1, delayMs: 500 }));
  });

  it('stops at once when bail says the error is not worth retrying', async () => {
    const permanent = new Error('401 from the broker: wrong password');
    const fn = jest.fn(() => Promise.reject(permanent));
    await expect(retry(fn, policy, { sleep: instantSleep, bail: (error) => error === permanent })).rejects.toBe(
      permanent,
    );
    expect(fn).toHaveBeenCalledTimes(1);
    expect(instantSleep).not.toHaveBeenCalled();
  });

  it('bails by default on a Problem that is not retriable, and retries a retriable one', async () => {
    const rejected = badRequest('no such topic');
    const bailing = jest.fn(() => Promise.reject(rejected));
    await expect(retry(bailing, policy, { sleep: instantSleep })).rejects.toBe(rejected);
    expect(bailing).toHaveBeenCalledTimes(1);

    const retried = jest
      .fn<Promise<number>, [number, AbortSignal | undefined]>()
      .mockRejectedValueOnce(unavailable('broker restarting'))
      .mockResolvedValue(7);
    await expect(retry(retried, policy, { sleep: instantSleep })).resolves.toBe(7);
    expect(retried).toHaveBeenCalledTimes(2);
  });

  it('gives up with the last error after maxAttempts', async () => {
    let n = 0;
    const fn = jest.fn(() => Promise.reject(new Error(`failure ${++n}`)));
    await expect(retry(fn, policy, { sleep: instantSleep, maxAttempts: 3 })).rejects.toThrow('failure 3');
    expect(fn).toHaveBeenCalledTimes(3);
  });

  it('gives up with the last error when the next wait would end past the horizon', async () => {
    let clock = 0;
    const sleep = (ms: number): Promise<void> => {
      clock += ms;
      return Promise.resolve();
    };
    const fn = jest.fn(() => Promise.reject(new Error('still down')));
    const short: RetryPolicy = { ...policy, horizonMs: 10_000 };
    await expect(retry(fn, short, { sleep, now: () => clock, random: almostOne })).rejects.toThrow('still down');
    // Waits 999 + 1 999 + 3 999 = 6 997 ms; the next (7 999) would end past 10 s.
    expect(fn).toHaveBeenCalledTimes(4);
    expect(clock).toBe(6_997);
  });

  it('stops when aborted during a wait, rejecting with the signal reason, and calls fn no more', async () => {
    const controller = new AbortController();
    const fn = jest.fn(() => Promise.reject(new Error('down')));
    const slowPolicy: RetryPolicy = { ...policy, initialDelayMs: 60_000, maxDelayMs: 60_000 };
    const running = retry(fn, slowPolicy, { signal: controller.signal, random: almostOne });
    await new Promise((resolve) => setImmediate(resolve));
    const reason = new Error('shutting down');
    controller.abort(reason);
    await expect(running).rejects.toBe(reason);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('does not start when already aborted, and treats an abort during fn as a stop, not a failure', async () => {
    const aborted = AbortSignal.abort(new Error('stopped'));
    const never = jest.fn(() => Promise.resolve(1));
    await expect(retry(never, policy, { signal: aborted })).rejects.toThrow('stopped');
    expect(never).not.toHaveBeenCalled();

    const controller = new AbortController();
    const fn = jest.fn((_attempt: number, signal: AbortSignal | undefined) => {
      controller.abort(new Error('stopped mid-call'));
      return Promise.reject(signal?.reason as Error);
    });
    await expect(retry(fn, policy, { signal: controller.signal, sleep: instantSleep })).rejects.toThrow(
      'stopped mid-call',
    );
    expect(fn).toHaveBeenCalledTimes(1);
    expect(instantSleep).not.toHaveBeenCalled();
  });

  it('asks for only a few milliseconds of waiting in all with the fast test policy', async () => {
    const fn = jest
      .fn<Promise<string>, [number, AbortSignal | undefined]>()
      .mockRejectedValueOnce(new Error('a'))
      .mockRejectedValueOnce(new Error('b'))
      .mockRejectedValueOnce(new Error('c'))
      .mockResolvedValue('ok');
    // The waits it asks for, not the wall clock: a loaded machine must not fail this test.
    const waits: number[] = [];
    const recordingSleep = (ms: number) => {
      waits.push(ms);
      return Promise.resolve();
    };
    await expect(retry(fn, FAST_TEST_RETRY_POLICY, { sleep: recordingSleep })).resolves.toBe('ok');
    expect(waits).toHaveLength(3);
    expect(waits.reduce((sum, ms) => sum + ms, 0)).toBeLessThan(200);
  });
});

describe('abortableSleep', () => {
  it('resolves after the delay and rejects with the reason when aborted', async () => {
    await expect(abortableSleep(1, undefined)).resolves.toBeUndefined();
    const controller = new AbortController();
    const sleeping = abortableSleep(60_000, controller.signal);
    controller.abort(new Problem({ type: 'x', title: 'stop', status: 503, detail: 'stop' }));
    await expect(sleeping).rejects.toThrow('stop');
    await expect(abortableSleep(1, AbortSignal.abort(new Error('already')))).rejects.toThrow('already');
  });
});
