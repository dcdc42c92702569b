/**
 * The HTTP API. Entry points stay thin: validate, call one function, answer. Every error —
 * thrown or rejected (Express 5 forwards rejected promises), or raised while reading the body —
 * goes through one handler that answers with problem+json.
 */
import { randomUUID } from 'node:crypto';
import express, { type ErrorRequestHandler, type Express, type RequestHandler, type Response } from 'express';
import helmet from 'helmet';
import type { MappingOptions } from '../../mappings/common.ts';
import { mappers as registeredMappers } from '../../mappings/registry.ts';
import { currentLogContext, logRequest, withLogContext, type Logger } from '../platform/logger.ts';
import type { Metrics } from '../platform/metrics.ts';
import { normalize, notFound, unavailable, type Problem } from '../platform/problem.ts';
import { REDACT_CATEGORIES, scrubText } from '../platform/redaction.ts';
import { endSpan, runInContext, SpanKind, startSpan } from '../platform/tracing.ts';
import { runReadiness, type ReadinessCheck } from '../platform/readiness.ts';
import { auditMiddleware, type AuditDeps } from './audit.ts';
import { authenticate, type InboundAuth } from './auth.ts';
import type { Contracts } from './contracts.ts';
import { bodyProblem } from './json-body.ts';
import { handoverRoutes, type HandoverRouteDeps } from './handover-routes.ts';
import { onlyMethod } from './methods.ts';
import type { Mappers } from '../contracts/mappers.ts';
import { previewRoutes } from './preview.ts';
import { rateLimit, type RateLimiter } from './rate-limit.ts';
import { routeTemplates, type RouteTemplateOf } from './route-template.ts';
import { strictHeaders } from './strict-headers.ts';
import { submissionBrowserRoutes, type SubmissionBrowserDeps } from './submission-browser.ts';
import { submissionRoutes, type SubmissionDeps } from './submissions.ts';
import { recordingImportRoutes } from './recording-import.ts';
import { DEFAULT_RECORDING_LIMITS } from './recordings/recording.ts';
import { createInputValidator } from '../contracts/input-validator.ts';

export interface AppDeps {
  readonly logger: Logger;
  readonly readiness: readonly ReadinessCheck[];
  readonly readinessTimeoutMs: number;
  /** Served at GET /metrics; the accepting routes count into it. */
  readonly metrics: Metrics;
  /** contracts/ as read at start-up (loadContracts); the input schemas are compiled here, once per app. */
  readonly contracts: Contracts;
  /** Deployment choices for the mappings (from config). */
  readonly mappingOptions: MappingOptions;
  /** Largest request body read, in bytes (BODY_LIMIT_BYTES). */
  readonly bodyLimitBytes: number;
  /** The mapping per input kind; the registry's unless a test passes its own. */
  readonly mappers?: Mappers;
  /** Who may call /v1 (AUTH_MODE): bearer JWTs with a scope per route, or explicitly nobody checked. */
  readonly auth: InboundAuth;
  /** The per-client rate limit on /v1; absent, none. */
  readonly rateLimiter?: RateLimiter;
  /** How long one request may take before it is answered 503 (REQUEST_TIMEOUT_MS); absent, no deadline. */
  readonly requestTimeoutMs?: number;
  /** The accepting routes (POST /v1/<kind>, GET /v1/submissions/:id); absent where the api role is off. */
  readonly submissions?: Omit<SubmissionDeps, 'validator' | 'ehrProfile' | 'bodyLimitBytes' | 'metrics'>;
  /** The message browser and bulk replay (GET /v1/submissions, …/summary, POST …/replay); absent where the api role is off. */
  readonly browser?: Omit<SubmissionBrowserDeps, 'bodyLimitBytes'>;
  /** POST /v1/discharges and /v1/handover-acknowledgements; absent where the api role is off. */
  readonly handover?: Omit<HandoverRouteDeps, 'validator' | 'bodyLimitBytes' | 'metrics'>;
  /** Where every /v1 call is audited; absent only in tests of other things. */
  readonly audit?: AuditDeps;
}

declare module 'express-serve-static-core' {
  interface Locals {
    log: Logger;
    requestId: string;
  }
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  const templateOf = routeTemplates(app);
  app.use(requestContext(deps.logger, templateOf));
  // Before authentication and limits: a refused call is audited too.
  if (deps.audit !== undefined) app.use(auditMiddleware(deps.audit, templateOf));
  // Before anything reads Authorization, Content-Type, Idempotency-Key or Host.
  app.use(strictHeaders());
  // An API answers JSON only, but a browser that is pointed at it still gets the safe headers.
  app.use(securityHeaders());
  if (deps.requestTimeoutMs !== undefined) app.use(deadline(deps.requestTimeoutMs));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    const report = await runReadiness(deps.readiness, deps.readinessTimeoutMs);
    res.status(report.status === 'unready' ? 503 : 200).json(report);
  });

  app.get('/metrics', async (_req, res) => {
    const { contentType, body } = await deps.metrics.scrape();
    res.type(contentType).send(body);
  });

  const openapi = JSON.stringify(deps.contracts.openapi);
  app.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(openapi);
  });

  // Everything above stays open: probes, metrics and the published contract carry no personal
  // data and must work without a token (kubelet, Prometheus inside the NetworkPolicy, the
  // clinics' developers). Everything under /v1 needs one.
  for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json']) app.all(path, onlyMethod('GET'));

  app.use('/v1', authenticate(deps.auth));
  if (deps.rateLimiter !== undefined) app.use('/v1', rateLimit(deps.rateLimiter));

  const validator = createInputValidator(deps.contracts.schemas);
  // Before the submission routes: /v1/submissions/summary is not a submission id.
  if (deps.browser !== undefined) {
    app.use(submissionBrowserRoutes({ ...deps.browser, bodyLimitBytes: deps.bodyLimitBytes }));
  }
  if (deps.submissions !== undefined) {
    app.use(
      recordingImportRoutes({
        ...deps.submissions,
        validator,
        metrics: deps.metrics,
        ehrProfile: deps.mappingOptions.ehrProfile,
        limits: DEFAULT_RECORDING_LIMITS,
      }),
    );
    app.use(
      submissionRoutes({
        ...deps.submissions,
        validator,
        ehrProfile: deps.mappingOptions.ehrProfile,
        bodyLimitBytes: deps.bodyLimitBytes,
        metrics: deps.metrics,
      }),
    );
  }
  if (deps.handover !== undefined) {
    app.use(
      handoverRoutes({ ...deps.handover, validator, bodyLimitBytes: deps.bodyLimitBytes, metrics: deps.metrics }),
    );
  }
  app.use(
    previewRoutes({
      validator,
      mappers: deps.mappers ?? registeredMappers,
      mappingOptions: deps.mappingOptions,
      bodyLimitBytes: deps.bodyLimitBytes,
    }),
  );

  // The path is not echoed: a caller may have typed personal data into it.
  app.use((req, _res, next) => {
    next(notFound(`No route for ${req.method} at this path; /openapi.json lists the routes.`));
  });
  app.use(problemHandler);
  return app;
}

/**
 * A request id on every request (the caller's X-Request-Id if sane, else a new one), echoed back,
 * and on every line logged while the request is handled (withLogContext); the submission id joins
 * it once known.
 */
function requestContext(root: Logger, templateOf: RouteTemplateOf): RequestHandler {
  return (req, res, next) => {
    const offered = req.get('x-request-id');
    const requestId = offered !== undefined && wellFormedRequestId(offered) ? offered : randomUUID();
    res.locals.requestId = requestId;
    res.locals.log = root;
    res.setHeader('X-Request-Id', requestId);
    const started = performance.now();
    // A server span, child of the caller's traceparent if it sent one (tracing off: undefined).
    // No url.path attribute: a path can carry personal data; the span gets the route's template.
    const span = startSpan(req.method, {
      kind: SpanKind.SERVER,
      parent: req.headers,
      attributes: { 'http.request.method': req.method },
    });
    runInContext(span?.context, () => {
      withLogContext({ requestId }, () => {
        // 'finish' may fire outside the request's context: it takes the context's fields along
        // (live, so a submission id added later is there too).
        const fields = currentLogContext();
        // Read now: a middleware mounted at /v1 that answers itself (401, 429) leaves req.url cut short.
        const path = req.path;
        res.on('finish', () => {
          // The route's template, not the path as sent (which could carry personal data).
          const route = templateOf(req, path);
          logRequest(root, {
            ...fields,
            method: req.method,
            route,
            status: res.statusCode,
            ms: Math.round(performance.now() - started),
          });
          if (span !== undefined) {
            span.span.updateName(`${req.method} ${route}`);
            span.span.setAttribute('http.route', route);
            span.span.setAttribute('http.response.status_code', res.statusCode);
            endSpan(span, res.statusCode >= 500 ? new Error(`answered ${res.statusCode}`) : undefined);
          }
        });
        next();
      });
    });
  };
}

/**
 * helmet's headers, worked out once: with its defaults they do not depend on the request, and
 * asking helmet per request cost a dozen middleware calls on every answer. Whatever helmet sets
 * (and the headers it removes) is what every answer carries, as before.
 */
function securityHeaders(): RequestHandler {
  const set = new Map<string, string>();
  const removed: string[] = [];
  const probe = {
    setHeader(name: string, value: unknown) {
      set.set(name, String(value));
    },
    removeHeader(name: string) {
      removed.push(name);
    },
  };
  const outcome: { done: boolean; error?: unknown } = { done: false };
  const setHeaders = helmet() as (req: unknown, res: unknown, next: (error?: unknown) => void) => void;
  setHeaders({}, probe, (error?: unknown) => {
    outcome.done = true;
    outcome.error = error;
  });
  // helmet answers synchronously with its defaults; anything else would mean it needs the request.
  if (!outcome.done || outcome.error !== undefined) throw new Error('helmet did not set its headers without a request');
  return (_req, res, next) => {
    res.setHeaders(set);
    for (const name of removed) res.removeHeader(name);
    next();
  };
}

/**
 * Letters, digits and _ . : - only, at most 128, and nothing that looks like personal data (a
 * national id or phone number as a request id would be echoed and logged): else we make our own.
 */
function wellFormedRequestId(offered: string): boolean {
  return /^[\w.:-]{1,128}$/.test(offered) && scrubText(offered, REDACT_CATEGORIES) === offered;
}

/**
 * A request still unanswered after `ms` is answered 503, so a caller is never left hanging on a
 * stuck dependency. Whatever the route was doing goes on; its late answer is dropped (the
 * submission routes are idempotent, so the caller's retry finds what it did).
 */
function deadline(ms: number): RequestHandler {
  return (_req, res, next) => {
    const timer = setTimeout(() => {
      sendProblem(res, unavailable(`The request took longer than ${ms} ms to answer; try again.`, 1), undefined);
    }, ms);
    res.on('close', () => {
      clearTimeout(timer);
    });
    next();
  };
}

function sendProblem(res: Response, problem: Problem, error: unknown): void {
  const log = res.locals.log;
  if (res.headersSent) {
    // Answered already (the deadline passed, then the route failed or answered late).
    log.warn({ err: error, status: problem.status }, 'an error after the answer was sent');
    return;
  }
  if (problem.status >= 500 && error !== undefined) log.error({ err: error }, problem.title);
  else log.info({ status: problem.status, type: problem.type }, problem.title);
  res.set(problem.headers);
  res.status(problem.status).type('application/problem+json').send(JSON.stringify(problem));
}

const problemHandler: ErrorRequestHandler = (error: unknown, _req, res, _next) => {
  sendProblem(res, bodyProblem(error) ?? normalize(error), error);
};
