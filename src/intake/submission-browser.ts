/**
 * For the person on call: find, count and reprocess submissions in bulk without SQL.
 *
 * GET /v1/submissions — the message browser: filters, newest first, cursor paging (keyset, so a
 * page never shifts while new submissions arrive). GET /v1/submissions/summary — counts by kind
 * and status, failures by reason, the oldest submission still on its way. POST
 * /v1/submissions/replay — re-queue the failed submissions a filter matches (dryRun: only count
 * them), at most REPLAY_MAX at once; GET /v1/submissions/replays/{id} — how far that got.
 * Like the status API these show where records are, never what they say.
 */
import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { badRequest, invalidInput, notFound, type FieldError } from '../platform/problem.ts';
import type { Store, SubmissionListItem, SubmissionSummary } from '../store/store.ts';
import { jsonBody } from './json-body.ts';
import { onlyMethod } from './methods.ts';
import { decodeCursor, encodeCursor, parseFilter, type Fields } from './submission-filter.ts';

export interface SubmissionBrowserDeps {
  readonly store: Pick<
    Store,
    'listSubmissions' | 'summarizeSubmissions' | 'countReplayable' | 'replayMatching' | 'replayProgress'
  >;
  readonly clock: () => Date;
  /** REPLAY_MAX: the most submissions one bulk replay re-queues. */
  readonly replayMax: number;
  readonly bodyLimitBytes: number;
}

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 500;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function submissionBrowserRoutes(deps: SubmissionBrowserDeps): Router {
  const router = Router();

  router.get('/v1/submissions', async (req, res) => {
    const query = queryFields(req.query);
    const filter = parseFilter(query, (field) => `/query/${field}`, ['limit', 'cursor']);
    const errors: FieldError[] = filter.ok ? [] : [...filter.errors];
    const limit = query.limit === undefined ? DEFAULT_LIMIT : Number(query.limit);
    if (
      query.limit !== undefined &&
      !(typeof query.limit === 'string' && /^\d{1,4}$/.test(query.limit) && limit >= 1 && limit <= MAX_LIMIT)
    ) {
      errors.push({ field: '/query/limit', rule: 'range', message: `limit must be a whole number, 1–${MAX_LIMIT}.` });
    }
    const after = typeof query.cursor === 'string' ? decodeCursor(query.cursor) : undefined;
    if (query.cursor !== undefined && after === undefined) {
      errors.push({
        field: '/query/cursor',
        rule: 'cursor',
        message: 'cursor must be the nextCursor of an earlier page, as it was given.',
      });
    }
    if (!filter.ok || errors.length > 0)
      throw badRequest(`${errors.length} query parameter(s) break the rules`, errors);
    const items = await deps.store.listSubmissions(filter.value, { after, limit });
    const last = items.at(-1);
    res.json({
      items: items.map(listView),
      // A full page may have more after it; the next one starts after its last row.
      ...(items.length === limit && last !== undefined ? { nextCursor: encodeCursor(last) } : {}),
    });
  });
  router.all('/v1/submissions', onlyMethod('GET'));

  router.get('/v1/submissions/summary', async (req, res) => {
    if (Object.keys(req.query).length > 0) {
      throw badRequest('The summary takes no query parameters.', [
        { field: '/query', rule: 'none', message: 'The summary takes no query parameters.' },
      ]);
    }
    res.json(summaryView(await deps.store.summarizeSubmissions(), deps.clock()));
  });
  router.all('/v1/submissions/summary', onlyMethod('GET'));

  router.post('/v1/submissions/replay', ...jsonBody(deps.bodyLimitBytes), async (req, res) => {
    const body: unknown = req.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw invalidInput([
        { field: '', rule: 'type', message: 'The body must be a JSON object of filters (and dryRun).' },
      ]);
    }
    const fields = body as Fields;
    const filter = parseFilter(fields, (field) => `/${field}`, ['dryRun']);
    const errors: FieldError[] = filter.ok ? [] : [...filter.errors];
    if (fields.dryRun !== undefined && typeof fields.dryRun !== 'boolean') {
      errors.push({ field: '/dryRun', rule: 'type', message: 'dryRun must be true or false.' });
    }
    if (fields.status !== undefined && fields.status !== 'failed') {
      errors.push({
        field: '/status',
        rule: 'const',
        message: 'Only failed submissions are replayed: status must be failed or left out.',
      });
    }
    if (!filter.ok || errors.length > 0) throw invalidInput(errors);
    const count = await deps.store.countReplayable(filter.value);
    if (count > deps.replayMax) throw tooMany(count, deps.replayMax);
    if (fields.dryRun === true) {
      res.json({ dryRun: true, count, maximum: deps.replayMax });
      return;
    }
    const replayId = randomUUID();
    const outcome = await deps.store.replayMatching(filter.value, {
      replayId,
      maximum: deps.replayMax,
      now: deps.clock(),
    });
    // Counted again inside the transaction: more may have failed since the count above.
    if (outcome.outcome === 'too-many') throw tooMany(outcome.count, deps.replayMax);
    if (outcome.count === 0) {
      res.json({ dryRun: false, count: 0 });
      return;
    }
    const progressUrl = `/v1/submissions/replays/${replayId}`;
    res.status(202).location(progressUrl).json({ dryRun: false, count: outcome.count, replayId, progressUrl });
  });
  router.all('/v1/submissions/replay', onlyMethod('POST'));

  router.get('/v1/submissions/replays/:id', async (req, res) => {
    const id = req.params.id;
    // Anything but a UUID is not echoed back.
    if (!UUID.test(id)) throw notFound('No such replay: a replay id is a UUID.');
    const progress = await deps.store.replayProgress(id);
    if (progress === undefined) throw notFound(`No replay ${id}`);
    const total = progress.accepted + progress.delivered + progress.failed;
    res.json({ replayId: id, total, ...progress, finished: progress.accepted === 0 });
  });
  router.all('/v1/submissions/replays/:id', onlyMethod('GET'));

  return router;
}

function tooMany(count: number, maximum: number) {
  return invalidInput([
    {
      field: '',
      rule: 'maximum',
      message: `${count} failed submissions match; one replay takes at most ${maximum} (REPLAY_MAX): narrow the filter (since, until, kind, source…).`,
    },
  ]);
}

/** Express parses a repeated parameter into a list and a[b]=c into an object: neither is a filter value. */
function queryFields(query: unknown): Fields {
  return query !== null && typeof query === 'object' ? (query as Fields) : {};
}

/** One row of the browser as the API and `hit-bridge submissions list` show it. */
export function listView(item: SubmissionListItem): Record<string, unknown> {
  return {
    id: item.id,
    kind: item.kind,
    source: item.source,
    inputId: item.inputId,
    status: item.status,
    acceptedAt: item.acceptedAt.toISOString(),
    updatedAt: item.updatedAt.toISOString(),
    ...(item.failureReason === undefined ? {} : { failureReason: item.failureReason }),
    statusUrl: `/v1/submissions/${item.id}`,
  };
}

/** The summary as the API and `hit-bridge submissions summary` show it. */
export function summaryView(summary: SubmissionSummary, now: Date): Record<string, unknown> {
  const oldest = summary.oldestUndeliveredAcceptedAt;
  return {
    counts: summary.counts,
    failedByReason: summary.failedByReason,
    oldestUndelivered:
      oldest === undefined
        ? null
        : {
            acceptedAt: oldest.toISOString(),
            ageSeconds: Math.max(0, Math.floor((now.getTime() - oldest.getTime()) / 1000)),
          },
  };
}
