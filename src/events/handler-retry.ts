/**
 * How long both EventBus adapters wait before a failed handler gets its record again (and the
 * log adapter before it retries a failed read or commit): the platform retry module's full-jitter
 * backoff (STYLE.md §8), the ceiling doubling from 0.5 s to 30 s. There is no horizon: a record
 * is never skipped, so a handler that keeps failing holds its partition until it is fixed — and
 * says so in a warning on every attempt.
 */
import { backoffDelay, type RetryPolicy } from '../platform/retry.ts';

const HANDLER_RETRY_POLICY: RetryPolicy = {
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  multiplier: 2,
  horizonMs: Number.POSITIVE_INFINITY,
  maxRetryAfterMs: 0,
};

export function handlerRetryDelayMs(failures: number): number {
  return backoffDelay(failures, HANDLER_RETRY_POLICY);
}
