/**
 * The HTTP API. Entry points stay thin: validate, call one function, answer. Every error —
 * thrown or rejected (Express 5 forwards rejected promises), or raised while reading the body —
 * goes through one handler that answers with problem+json.
 */
import { randomUUID } from 'node:crypto';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import type { MappingOptions } from '../../mappings/common.ts';
import { mappers as registeredMappers } from '../../mappings/registry.ts';
import type { Logger } from '../platform/logger.ts';
import type { Metrics } from '../platform/metrics.ts';
import { normalize, notFound } from '../platform/problem.ts';
import { runReadiness, type ReadinessCheck } from '../platform/readiness.ts';
import type { Contracts } from './contracts.ts';
import { bodyProblem } from './json-body.ts';
import { previewRoutes, type Mappers } from './preview.ts';
import { submissionRoutes, type SubmissionDeps } from './submissions.ts';
import { createInputValidator } from './validation.ts';

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
  /** The accepting routes (POST /v1/<kind>, GET /v1/submissions/:id); absent where the api role is off. */
  readonly submissions?: Omit<SubmissionDeps, 'validator' | 'bodyLimitBytes' | 'metrics'>;
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
  app.use(requestContext(deps.logger));

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

  const validator = createInputValidator(deps.contracts.schemas);
  if (deps.submissions !== undefined) {
    app.use(
      submissionRoutes({
        ...deps.submissions,
        validator,
        bodyLimitBytes: deps.bodyLimitBytes,
        metrics: deps.metrics,
      }),
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

  app.use((req, _res, next) => {
    next(notFound(`No route for ${req.method} ${req.path}`));
  });
  app.use(problemHandler);
  return app;
}

/** A request id on every request (the caller's X-Request-Id if sane) and a child logger carrying it. */
function requestContext(root: Logger): RequestHandler {
  return (req, res, next) => {
    const offered = req.get('x-request-id');
    const requestId = offered && /^[\w.:-]{1,128}$/.test(offered) ? offered : randomUUID();
    res.locals.requestId = requestId;
    res.locals.log = root.child({ requestId });
    res.setHeader('X-Request-Id', requestId);
    const started = performance.now();
    res.on('finish', () => {
      res.locals.log.info(
        { method: req.method, path: req.path, status: res.statusCode, ms: Math.round(performance.now() - started) },
        'request',
      );
    });
    next();
  };
}

const problemHandler: ErrorRequestHandler = (error: unknown, _req, res, _next) => {
  const problem = bodyProblem(error) ?? normalize(error);
  const log = res.locals.log;
  if (problem.status >= 500) log.error({ err: error }, problem.title);
  else log.info({ status: problem.status, type: problem.type }, problem.title);
  res.status(problem.status).type('application/problem+json').send(JSON.stringify(problem));
};
