/**
 * Who is calling, as the authentication middleware established it, for whatever needs to know
 * after it: the rate limiter keys on it and the audit log records it. Read it through
 * `callerOf`, never from res.locals by name, so the one place that sets it is the one place
 * that says what it holds.
 */
import type { Response } from 'express';

export interface Caller {
  /**
   * The OAuth client the token was issued to (its client_id, or azp), e.g. "clinic-a";
   * undefined when authentication is off (AUTH_MODE=off). Never personal data: a client is a
   * system, not a person.
   */
  readonly clientId: string | undefined;
  /** The scopes the token grants (empty when authentication is off). */
  readonly scopes: ReadonlySet<string>;
}

declare module 'express-serve-static-core' {
  interface Locals {
    caller?: Caller;
  }
}

export function setCaller(res: Response, caller: Caller): void {
  res.locals.caller = caller;
}

/** The caller of this request; undefined on routes that need no authentication (/healthz, …). */
export function callerOf(res: Response): Caller | undefined {
  return res.locals.caller;
}

/** The caller's client id, or "anonymous" when authentication is off or the route is open. */
export function clientIdOf(res: Response): string {
  return res.locals.caller?.clientId ?? 'anonymous';
}
