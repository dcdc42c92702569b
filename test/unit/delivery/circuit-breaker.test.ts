import {
  DEFAULT_BREAKER_OPTIONS,
  breakerOptionsFromConfig,
  createCircuitBreaker,
  type CircuitBreaker,
} from '../../../src/delivery/circuit-breaker.ts';
import { loadConfig } from '../../../src/platform/config.ts';

const options = {
  failureThreshold: 3,
  cooldownMs: 1_000,
  cooldownMultiplier: 2,
  maxCooldownMs: 3_000,
  probeTimeoutMs: 10_000,
};

/** Fails `n` passes in a row at `at`. */
function failTimes(breaker: CircuitBreaker, n: number, at: number): void {
  for (let i = 0; i < n; i += 1) {
    expect(breaker.canPass(at)).toBe(true);
    breaker.onFailure(at);
  }
}

/** Opens a fresh breaker at t = 0 and lets its first cool-down pass. */
function halfOpen(): CircuitBreaker {
  const breaker = createCircuitBreaker(options);
  failTimes(breaker, 3, 0);
  expect(breaker.state(1_000)).toBe('half-open');
  return breaker;
}

describe('circuit breaker', () => {
  it('starts closed and lets everything through', () => {
    const breaker = createCircuitBreaker(options);
    expect(breaker.state(0)).toBe('closed');
    expect([1, 2, 3].map((t) => breaker.canPass(t))).toEqual([true, true, true]);
    expect(breaker.remainingOpenMs(0)).toBe(0);
  });

  it('stays closed below the threshold, and a success resets the count', () => {
    const breaker = createCircuitBreaker(options);
    failTimes(breaker, 2, 0);
    expect(breaker.state(0)).toBe('closed');
    breaker.onSuccess(1);
    failTimes(breaker, 2, 2);
    expect(breaker.state(2)).toBe('closed');
  });

  it('does not count a released pass (a permanent 4xx) either way', () => {
    const breaker = createCircuitBreaker(options);
    failTimes(breaker, 2, 0);
    breaker.release(1);
    expect(breaker.state(1)).toBe('closed');
    failTimes(breaker, 1, 2);
    expect(breaker.state(2)).toBe('open');
  });

  it('closed → open after N consecutive failures: nothing passes during the cool-down', () => {
    const breaker = createCircuitBreaker(options);
    failTimes(breaker, 3, 100);
    expect(breaker.state(100)).toBe('open');
    expect(breaker.canPass(100)).toBe(false);
    expect(breaker.canPass(1_099)).toBe(false);
    expect(breaker.remainingOpenMs(600)).toBe(500);
  });

  it('ignores results of requests sent before it opened', () => {
    const breaker = createCircuitBreaker(options);
    failTimes(breaker, 3, 0);
    breaker.onSuccess(10);
    breaker.onFailure(20);
    expect(breaker.state(20)).toBe('open');
    // A late failure did not restart the cool-down.
    expect(breaker.state(1_000)).toBe('half-open');
  });

  it('open → half-open when the cool-down has passed: ONE probe passes, the rest wait', () => {
    const breaker = halfOpen();
    expect(breaker.remainingOpenMs(1_000)).toBe(0);
    expect(breaker.canPass(1_000)).toBe(true);
    expect(breaker.canPass(1_001)).toBe(false);
    expect(breaker.canPass(5_000)).toBe(false);
    expect(breaker.state(5_000)).toBe('half-open');
  });

  it('half-open → closed when the probe succeeds; the next opening has the first cool-down again', () => {
    const breaker = halfOpen();
    expect(breaker.canPass(1_000)).toBe(true);
    breaker.onFailure(1_000);
    expect(breaker.state(2_999)).toBe('open');
    expect(breaker.canPass(3_000)).toBe(true);
    breaker.onSuccess(3_100);
    expect(breaker.state(3_100)).toBe('closed');
    expect([breaker.canPass(3_101), breaker.canPass(3_102)]).toEqual([true, true]);
    // The count started afresh, and so did the cool-down.
    failTimes(breaker, 2, 3_200);
    expect(breaker.state(3_200)).toBe('closed');
    failTimes(breaker, 1, 3_300);
    expect(breaker.state(4_299)).toBe('open');
    expect(breaker.state(4_300)).toBe('half-open');
  });

  it('half-open → open when the probe fails, the cool-down doubling up to its cap', () => {
    const breaker = halfOpen();
    const opened: number[] = [];
    let t = 1_000;
    for (let round = 0; round < 4; round += 1) {
      expect(breaker.canPass(t)).toBe(true);
      breaker.onFailure(t);
      expect(breaker.state(t)).toBe('open');
      opened.push(breaker.remainingOpenMs(t));
      t += breaker.remainingOpenMs(t);
    }
    expect(opened).toEqual([2_000, 3_000, 3_000, 3_000]);
  });

  it('frees the probe slot when the probe ends without a verdict (a 4xx, or its caller aborted)', () => {
    const breaker = halfOpen();
    expect(breaker.canPass(1_000)).toBe(true);
    breaker.release(1_050);
    expect(breaker.state(1_050)).toBe('half-open');
    expect(breaker.canPass(1_060)).toBe(true);
    expect(breaker.canPass(1_070)).toBe(false);
  });

  it('lets another probe through when the first has had no verdict within probeTimeoutMs', () => {
    const breaker = halfOpen();
    expect(breaker.canPass(1_000)).toBe(true);
    expect(breaker.canPass(10_999)).toBe(false);
    expect(breaker.canPass(11_000)).toBe(true);
  });

  it('counts once the overload answers (429, 503) to requests that were in flight together', () => {
    const breaker = createCircuitBreaker(options);
    // Eight requests out at once; the EHR has room for two and refuses the other six.
    const burst = Array.from({ length: 8 }, () => {
      expect(breaker.canPass(0)).toBe(true);
      return breaker.passed();
    });
    for (const request of burst.slice(2)) breaker.onOverload(5, request);
    expect(breaker.state(5)).toBe('closed');
    // Refusals of requests sent after that verdict are new verdicts: two more, and the threshold (3) is reached.
    for (const t of [10, 20]) {
      expect(breaker.canPass(t)).toBe(true);
      breaker.onOverload(t + 1, breaker.passed());
    }
    expect(breaker.state(21)).toBe('open');
  });

  it('opens on overload answers to requests sent one after another, as on any transient failure', () => {
    const breaker = createCircuitBreaker(options);
    for (const t of [0, 1, 2]) {
      expect(breaker.canPass(t)).toBe(true);
      breaker.onOverload(t, breaker.passed());
    }
    expect(breaker.state(2)).toBe('open');
  });

  it('a success resets the count of overload answers, and a stale refusal from before it adds nothing', () => {
    const breaker = createCircuitBreaker(options);
    expect([breaker.canPass(0), breaker.canPass(0), breaker.canPass(0)]).toEqual([true, true, true]);
    breaker.onOverload(1, 1);
    breaker.onOverload(1, 2);
    breaker.onSuccess(2);
    breaker.onOverload(3, 3);
    failTimes(breaker, 2, 4);
    expect(breaker.state(4)).toBe('closed');
    failTimes(breaker, 1, 5);
    expect(breaker.state(5)).toBe('open');
  });

  it('reopens a half-open circuit when the probe is refused as overloaded', () => {
    const breaker = halfOpen();
    expect(breaker.canPass(1_000)).toBe(true);
    breaker.onOverload(1_010, breaker.passed());
    expect(breaker.state(1_010)).toBe('open');
    expect(breaker.remainingOpenMs(1_010)).toBe(2_000);
  });

  it('takes its parameters from the configuration', () => {
    const result = loadConfig({
      AUTH_MODE: 'off',
      EHR_BREAKER_FAILURES: '7',
      EHR_BREAKER_COOLDOWN_MS: '15000',
      EHR_TIMEOUT_MS: '90000',
    });
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(breakerOptionsFromConfig(result.config)).toEqual({
      failureThreshold: 7,
      cooldownMs: 15_000,
      cooldownMultiplier: 2,
      maxCooldownMs: 150_000,
      probeTimeoutMs: 180_000,
    });
    const defaults = loadConfig({ AUTH_MODE: 'off' });
    if (!defaults.ok) throw new Error(defaults.errors.join('\n'));
    expect(breakerOptionsFromConfig(defaults.config)).toEqual(DEFAULT_BREAKER_OPTIONS);
  });
});
