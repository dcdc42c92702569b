/**
 * Per-client rate limit on /v1: a token bucket per client id (per IP address when
 * authentication is off), refilled at RATE_LIMIT_PER_SECOND up to RATE_LIMIT_BURST. Over it,
 * 429 with Retry-After in whole seconds.
 *
 * In-process: each replica counts on its own, so N replicas let a client through at up to N
 * times the rate. That is enough to stop one runaway clinic system from starving the others
 * and the store; a shared limit would need a shared counter (the database) on every request.
 */
import type { RequestHandler } from 'express';
import { tooManyRequests } from '../platform/problem.ts';
import { callerOf } from './caller.ts';

export interface RateLimitOptions {
  readonly perSecond: number;
  readonly burst: number;
  /** Milliseconds on a monotonic clock; tests pass their own. */
  readonly now?: () => number;
  /** At most this many buckets are kept; full ones are dropped first (they carry no state). */
  readonly maxClients?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export interface RateLimiter {
  /** Takes one token for `key`: 0 if there was one, else the seconds until there is. */
  take(key: string): number;
}

export function createRateLimiter(options: RateLimitOptions): RateLimiter {
  const now = options.now ?? (() => performance.now());
  const maxClients = options.maxClients ?? 10_000;
  const buckets = new Map<string, Bucket>();

  const refill = (bucket: Bucket, at: number): void => {
    bucket.tokens = Math.min(options.burst, bucket.tokens + ((at - bucket.at) / 1000) * options.perSecond);
    bucket.at = at;
  };

  const evict = (at: number): void => {
    for (const [key, bucket] of buckets) {
      refill(bucket, at);
      if (bucket.tokens >= options.burst) buckets.delete(key);
    }
    // Still full of busy clients (a flood of distinct IPs): forget the oldest; they start afresh.
    for (const key of buckets.keys()) {
      if (buckets.size < maxClients) break;
      buckets.delete(key);
    }
  };

  return {
    take(key) {
      const at = now();
      let bucket = buckets.get(key);
      if (bucket === undefined) {
        if (buckets.size >= maxClients) evict(at);
        bucket = { tokens: options.burst, at };
        buckets.set(key, bucket);
      } else refill(bucket, at);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return 0;
      }
      return Math.max(1, Math.ceil((1 - bucket.tokens) / options.perSecond));
    },
  };
}

/** The middleware, after authentication (it keys on the caller it established). */
export function rateLimit(limiter: RateLimiter): RequestHandler {
  return (req, res, next) => {
    const clientId = callerOf(res)?.clientId;
    const key = clientId === undefined ? `ip:${req.socket.remoteAddress ?? 'unknown'}` : `client:${clientId}`;
    const wait = limiter.take(key);
    if (wait === 0) {
      next();
      return;
    }
    res.locals.log.info({ clientId, retryAfterSeconds: wait }, 'rate limited');
    next(
      tooManyRequests(
        `This client is sending more requests than this service takes; wait ${wait} s before the next one.`,
        wait,
      ),
    );
  };
}
