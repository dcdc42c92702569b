/**
 * A circuit breaker in front of the EHR: a pure state machine, time passed in (milliseconds
 * since the epoch), so every transition is tested with a fake clock.
 *
 *   closed ──N consecutive transient failures──▶ open ──cool-down passed──▶ half-open
 *     ▲                                            ▲                            │ ONE probe passes
 *     └──────────────probe succeeded───────────────┼────────────────────────────┤
 *                                                  └──probe failed (cool-down × 2, capped)
 *
 * Consecutive failures rather than a failure rate in a window: the worker's traffic is bursty
 * (nothing for hours, then a backlog), so a rate over a time window means little at low volume,
 * while "N answers in a row were transient failures" is exact at any volume and explainable.
 *
 * Only transient failures count (network errors, timeouts, 408/425/429/5xx, and 401/403, which
 * would fail every request alike). An overload answer (429, 503: "more than I can take now") is
 * one verdict on every request that was in flight with it: when the EHR refuses the part of a
 * burst it has no room for, those refusals count once, not once each, and only refusals of
 * requests sent after a counted one count again. Otherwise a worker with eight Bundles in flight
 * to an EHR that takes two opened the circuit on its first burst, before the adaptive limit (ADR
 * 0033) could shrink to what the EHR takes, and delivered nothing for the cool-down
 * (docs/adr/0058-an-overloaded-ehr-is-not-a-down-ehr.md). An EHR that refuses everything still
 * opens it: each request sent after a counted refusal counts.
 *
 * A permanent rejection of one Bundle (400/404/409/412/422) says nothing about the EHR's health:
 * the caller reports it with release(), which changes no count but frees the half-open probe
 * slot.
 *
 * Results that arrive while the circuit is open come from requests sent before it opened; they
 * are ignored. Keep the cool-down at least as long as the request timeout, so that by half-open
 * every such straggler has ended and the next verdict is the probe's.
 */
type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Consecutive transient failures that open the circuit. */
  readonly failureThreshold: number;
  /** How long the circuit stays open before a probe. */
  readonly cooldownMs: number;
  /** After each failed probe the cool-down is multiplied by this … */
  readonly cooldownMultiplier: number;
  /** … up to this. */
  readonly maxCooldownMs: number;
  /** A probe with no verdict after this long (its caller died or forgot) lets another probe through. */
  readonly probeTimeoutMs: number;
}

export const DEFAULT_BREAKER_OPTIONS: CircuitBreakerOptions = {
  failureThreshold: 5,
  cooldownMs: 30_000,
  cooldownMultiplier: 2,
  maxCooldownMs: 300_000,
  probeTimeoutMs: 120_000,
};

export interface CircuitBreaker {
  /** May a request go now? In half-open, true exactly once: that request is the probe. */
  canPass(now: number): boolean;
  /** How many requests canPass() has let through so far: right after it, the number of that request. */
  passed(): number;
  /** The EHR answered as a healthy server does (closes a half-open circuit, resets the count). */
  onSuccess(now: number): void;
  /** A transient failure (opens the circuit at the threshold; reopens a half-open one). */
  onFailure(now: number): void;
  /**
   * An overload answer (429, 503) to request number `request` (passed() when it was let through):
   * a transient failure, unless that request was already let through when an earlier overload
   * answer was counted (then it is the same verdict, and changes nothing).
   */
  onOverload(now: number, request: number): void;
  /** The request ended with no verdict on the EHR's health (a permanent 4xx, the caller aborted). */
  release(now: number): void;
  /** For metrics and logs. */
  state(now: number): BreakerState;
  /** Milliseconds until an open circuit lets a probe through (0 when it is not open). */
  remainingOpenMs(now: number): number;
}

/** Options from the configuration: the cool-down grows to at most 10 times its first length. */
export function breakerOptionsFromConfig(
  config: {
    readonly EHR_BREAKER_FAILURES: number;
    readonly EHR_BREAKER_COOLDOWN_MS: number;
    readonly EHR_TIMEOUT_MS: number;
  },
  defaults: CircuitBreakerOptions = DEFAULT_BREAKER_OPTIONS,
): CircuitBreakerOptions {
  return {
    ...defaults,
    failureThreshold: config.EHR_BREAKER_FAILURES,
    cooldownMs: config.EHR_BREAKER_COOLDOWN_MS,
    maxCooldownMs: 10 * config.EHR_BREAKER_COOLDOWN_MS,
    // A probe is one request: it has its verdict within the timeout, or its caller is gone.
    probeTimeoutMs: Math.max(defaults.probeTimeoutMs, 2 * config.EHR_TIMEOUT_MS),
  };
}

export function createCircuitBreaker(options: Partial<CircuitBreakerOptions> = {}): CircuitBreaker {
  const settings: CircuitBreakerOptions = { ...DEFAULT_BREAKER_OPTIONS, ...options };
  let consecutiveFailures = 0;
  /** Set while open or half-open: when the current cool-down started, and how long it is. */
  let openedAt: number | undefined;
  let cooldownMs = settings.cooldownMs;
  /** When the half-open probe was let through, if one is out. */
  let probeSince: number | undefined;
  /** Requests let through so far. */
  let passed = 0;
  /** passed when the last counted overload answer came: requests up to it were in flight with it. */
  let overloadCountedThrough = 0;

  const current = (now: number): BreakerState => {
    if (openedAt === undefined) return 'closed';
    return now - openedAt >= cooldownMs ? 'half-open' : 'open';
  };

  const open = (now: number, cooldown: number): void => {
    openedAt = now;
    cooldownMs = cooldown;
    probeSince = undefined;
  };

  const close = (): void => {
    openedAt = undefined;
    cooldownMs = settings.cooldownMs;
    probeSince = undefined;
    consecutiveFailures = 0;
  };

  const onFailure = (now: number): void => {
    switch (current(now)) {
      case 'closed':
        consecutiveFailures += 1;
        if (consecutiveFailures >= settings.failureThreshold) open(now, settings.cooldownMs);
        return;
      case 'open':
        return;
      case 'half-open':
        open(now, Math.min(settings.maxCooldownMs, cooldownMs * settings.cooldownMultiplier));
        return;
    }
  };

  return {
    canPass(now) {
      switch (current(now)) {
        case 'closed':
          passed += 1;
          return true;
        case 'open':
          return false;
        case 'half-open':
          if (probeSince !== undefined && now - probeSince < settings.probeTimeoutMs) return false;
          probeSince = now;
          passed += 1;
          return true;
      }
    },
    passed: () => passed,
    onSuccess(now) {
      const state = current(now);
      if (state === 'open') return;
      close();
    },
    onFailure,
    onOverload(now, request) {
      // A half-open circuit's probe is one request: its refusal reopens the circuit as any failure does.
      if (current(now) === 'closed' && request <= overloadCountedThrough) return;
      overloadCountedThrough = passed;
      onFailure(now);
    },
    release(now) {
      if (current(now) === 'half-open') probeSince = undefined;
    },
    state: current,
    remainingOpenMs(now) {
      return current(now) === 'open' && openedAt !== undefined ? openedAt + cooldownMs - now : 0;
    },
  };
}
