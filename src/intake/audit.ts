/**
 * The audit trail of the HTTP API: one append-only entry per /v1 call, whatever its outcome —
 * accepted, read, or refused (401, 403, 413, 422, 429…) — written when the response has gone:
 * time, client id, method, route template, status, submission id, request id. Nothing the caller
 * sent is written (no body, no URL, no query string), so the trail holds no personal data and
 * outlives retention.
 */
import type { RequestHandler } from 'express';
import type { Store } from '../store/store.ts';
import { clientIdOf } from './caller.ts';
import type { RouteTemplateOf } from './route-template.ts';

export interface AuditDeps {
  readonly store: Pick<Store, 'recordAudit'>;
  readonly clock: () => Date;
}

declare module 'express-serve-static-core' {
  interface Locals {
    /** Set by a route once it knows which submission the request is about. */
    submissionId?: string;
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function auditMiddleware(deps: AuditDeps, templateOf: RouteTemplateOf): RequestHandler {
  return (req, res, next) => {
    if (req.path !== '/v1' && !req.path.startsWith('/v1/')) {
      next();
      return;
    }
    const method = req.method;
    // Read now: a middleware mounted at /v1 that answers itself (401, 429) leaves req.url cut short.
    const path = req.path;
    // 'close' without 'finish': the caller went away before the answer was sent; still a call.
    let written = false;
    const write = (): void => {
      if (written) return;
      written = true;
      const submissionId = res.locals.submissionId;
      deps.store
        .recordAudit({
          at: deps.clock(),
          clientId: clientIdOf(res),
          method,
          route: templateOf(req, path),
          status: res.statusCode,
          submissionId: submissionId !== undefined && UUID.test(submissionId) ? submissionId : undefined,
          requestId: res.locals.requestId,
        })
        .catch((error: unknown) => {
          res.locals.log.error({ err: error }, 'could not write the audit entry for this request');
        });
    };
    res.once('finish', write);
    res.once('close', write);
    next();
  };
}
