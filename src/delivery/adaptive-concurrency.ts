/**
 * How many Bundles a delivery worker keeps in flight to the EHR, adjusted to what the EHR can
 * take (additive increase, multiplicative decrease, as TCP's congestion control):
 *
 * - an answer that says "too much" — 429, 503, or no answer in time — halves the limit, at most
 *   once per round trip (the requests already in flight when it was cut answer from the old load
 *   and must not cut it again);
 * - a success whose latency holds (within twice the best recently seen) grows it by one per round
 *   of `limit` successes; a slower success holds it where it is;
 * - it never leaves [1, maximum]; it starts at the maximum, so an EHR that keeps up sees the same
 *   concurrency as a fixed EHR_DELIVERY_CONCURRENCY would give it.
 *
 * The limit itself is pure (answers and times come in); observedEhr() feeds it every EHR answer.
 */
import type { Ehr, EhrFailure } from './ehr.ts';

export interface ConcurrencyLimit {
  /** Whole requests allowed in flight now (at least 1). */
  current(): number;
  /** One EHR answer: how long it took and whether it said the EHR is overloaded. */
  observe(answer: { readonly latencyMs: number; readonly overloaded: boolean }, now: number): void;
}

/** Recent successes whose minimum latency is the baseline "latency holds" is judged against. */
const BASELINE_WINDOW = 50;

export function fixedConcurrency(limit: number): ConcurrencyLimit {
  return { current: () => limit, observe: () => undefined };
}

export function adaptiveConcurrency(maximum: number): ConcurrencyLimit {
  let limit = maximum;
  const recent: number[] = [];
  let smoothedMs: number | undefined;
  let holdCutsUntil = Number.NEGATIVE_INFINITY;

  return {
    current: () => Math.max(1, Math.floor(limit)),
    observe({ latencyMs, overloaded }, now) {
      smoothedMs = smoothedMs === undefined ? latencyMs : 0.8 * smoothedMs + 0.2 * latencyMs;
      if (overloaded) {
        if (now < holdCutsUntil) return;
        limit = Math.max(1, limit / 2);
        holdCutsUntil = now + smoothedMs;
        return;
      }
      recent.push(latencyMs);
      if (recent.length > BASELINE_WINDOW) recent.shift();
      if (latencyMs <= 2 * Math.min(...recent)) limit = Math.min(maximum, limit + 1 / limit);
    },
  };
}

/** The Ehr with every answer (its latency, whether it said "too much") told to the limit. */
export function observedEhr(ehr: Ehr, limit: ConcurrencyLimit, now: () => number = () => performance.now()): Ehr {
  const timed =
    <A extends unknown[], R extends { readonly ok: boolean; readonly failure?: EhrFailure }>(
      call: (...args: A) => Promise<R>,
    ) =>
    async (...args: A): Promise<R> => {
      const started = now();
      const outcome = await call(...args);
      const ended = now();
      const overloaded = !outcome.ok && outcome.failure !== undefined && isOverload(outcome.failure);
      limit.observe({ latencyMs: ended - started, overloaded }, ended);
      return outcome;
    };
  return {
    transaction: timed((bundle, signal) => ehr.transaction(bundle, signal)),
    search: timed((resourceType, params, signal) => ehr.search(resourceType, params, signal)),
    create: timed((resource, ifNoneExist, signal) => ehr.create(resource, ifNoneExist, signal)),
    ping: (signal) => ehr.ping(signal),
  };
}

/** The answers that mean the EHR has more than it can take: slow down rather than retry harder. */
export function isOverload(failure: { readonly httpStatus: number | undefined; readonly stage?: 'token' }): boolean {
  if (failure.stage === 'token') return false;
  return failure.httpStatus === 429 || failure.httpStatus === 503 || failure.httpStatus === undefined;
}
