/**
 * POST /v1/{hit-sessions,fitness-tests,prescriptions}: validate exactly as the preview does,
 * then store the input with its first outbox job in one transaction and answer 202 — from that
 * moment hit-bridge owns the record. GET /v1/submissions/{id}: where it is now, as a timeline a
 * person can follow.
 *
 * Sending again is safe: the same input id from the same source with the same content is the
 * same submission (200, no new work), whatever the Idempotency-Key; an Idempotency-Key reused
 * for other content, or an input id resent with other content, is refused (409) rather than
 * silently dropped or silently overwriting what the EHR may already hold.
 */
import { createHash } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import { redactNationalIds } from '../platform/redaction.ts';
import { timeOrderedUuid } from '../platform/uuid.ts';
import type { PatientKeyer } from '../events/patient-key.ts';
import { addLogContext } from '../platform/logger.ts';
import type { Metrics } from '../platform/metrics.ts';
import { badRequest, conflict, notFound } from '../platform/problem.ts';
import { currentTraceCarrier } from '../platform/tracing.ts';
import { ERASED_MESSAGE } from '../store/store-rules.ts';
import type { AcceptOutcome, HandoverState, Store, Submission } from '../store/store.ts';
import { jsonBody } from './json-body.ts';
import { onlyMethod } from './methods.ts';
import type { InputValidator } from '../contracts/input-validator.ts';
import type { EhrProfile } from '../../mappings/common.ts';
import { idFieldOf, RECORD_KINDS, type Inputs, type RecordKind } from '../kinds/kinds.ts';

export interface SubmissionDeps {
  readonly validator: InputValidator;
  /** The EHR profile records are delivered with: it decides what an input must carry (episodeId). */
  readonly ehrProfile: EhrProfile;
  readonly store: Store;
  readonly patientKey: PatientKeyer;
  readonly bodyLimitBytes: number;
  readonly clock: () => Date;
  readonly metrics: Pick<Metrics, 'submissionAccepted'>;
}

/** The input's id within the sending system: the field its kind's descriptor names. */
function inputIdOf(kind: RecordKind, input: Inputs[RecordKind]): string {
  return (input as unknown as Readonly<Record<string, string>>)[idFieldOf(kind)] ?? '';
}

// RFC 9110 token-ish: visible ASCII, bounded, so a key can never smuggle personal data at length.
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function submissionRoutes(deps: SubmissionDeps): Router {
  const router = Router();
  const body = jsonBody(deps.bodyLimitBytes);

  for (const kind of RECORD_KINDS) {
    const path = `/v1/${kind}`;
    router.post(path, ...body, async (req, res) => {
      const outcome = await acceptInput(deps, kind, req.body, idempotencyOf(req));
      if (outcome.outcome === 'created') deps.metrics.submissionAccepted(kind);
      answerAccepted(res, kind, outcome);
    });
    router.all(path, onlyMethod('POST'));
  }

  router.get('/v1/submissions/:id', async (req, res) => {
    const id = req.params.id;
    // Anything but a UUID is not echoed back: it could be personal data typed into the URL.
    if (!UUID.test(id)) throw notFound('No such submission: a submission id is a UUID.');
    addLogContext({ submissionId: id });
    res.locals.submissionId = id;
    const submission = await deps.store.getSubmission(id);
    if (submission === undefined) throw notFound(`No submission ${id}`);
    const handover = submission.kind === 'discharges' ? await deps.store.getHandover(id) : undefined;
    res.json({ ...statusView(submission, await deps.store.timeline(id)), ...handoverView(handover) });
  });
  router.all('/v1/submissions/:id', onlyMethod('GET'));

  return router;
}

/** The Idempotency-Key header, if sent and sane; refused (400) when it could carry personal data. */
export function idempotencyOf(req: Request): string | undefined {
  const idempotencyKey = req.get('idempotency-key');
  if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
    throw badRequest('Idempotency-Key must be 1–255 visible ASCII characters (a UUID is a good choice).');
  }
  // The key is kept with the submission after retention erases the body: it must not be a national id.
  if (idempotencyKey !== undefined && redactNationalIds(idempotencyKey) !== idempotencyKey) {
    throw badRequest(
      'Idempotency-Key must not contain 11 digits in a row: it could be a national id (a UUID is a good choice).',
    );
  }
  return idempotencyKey;
}

/**
 * Validates an input and stores it with its first delivery job: the one way in for every input
 * that becomes an EHR record, whether posted as JSON or derived from a recording.
 */
// K ties validate(kind) to its input type: without it the call would see a union of inputs.
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
export async function acceptInput<K extends RecordKind>(
  deps: Pick<SubmissionDeps, 'validator' | 'store' | 'patientKey' | 'clock' | 'ehrProfile'>,
  kind: K,
  raw: unknown,
  idempotencyKey: string | undefined,
): Promise<AcceptOutcome> {
  const input = deps.validator.validate(kind, raw, deps.ehrProfile);
  return deps.store.accept(
    {
      id: timeOrderedUuid(deps.clock()),
      kind,
      source: input.source,
      inputId: inputIdOf(kind, input),
      idempotencyKey,
      bodyHash: hashOf(input),
      body: input,
      patientKey: deps.patientKey(input.patient.nationalId),
      acceptedAt: deps.clock(),
    },
    // The request's trace context rides with the job, so the worker continues the same trace.
    { queue: 'ehr-delivery', payload: currentTraceCarrier(), runAt: deps.clock() },
  );
}

/** 202 for a new submission, 200 for the same one again; a 409 (thrown) for other content under a used id or key. */
export function answerAccepted(res: Response, kind: RecordKind, outcome: AcceptOutcome): void {
  res.locals.submissionId = outcome.outcome === 'conflict' ? outcome.existing.id : outcome.submission.id;
  if (outcome.outcome === 'conflict') {
    addLogContext({ submissionId: outcome.existing.id });
    throw conflict(
      outcome.reason === 'idempotency-key'
        ? 'This Idempotency-Key was already used for a request with other content; use a new key for a new request.'
        : `This ${idFieldOf(kind)} from this source was already submitted with other content ` +
            `(submission ${outcome.existing.id}); send corrections under a new ${idFieldOf(kind)}.`,
    );
  }
  addLogContext({ submissionId: outcome.submission.id });
  const statusUrl = `/v1/submissions/${outcome.submission.id}`;
  res
    .status(outcome.outcome === 'created' ? 202 : 200)
    .location(statusUrl)
    .json({ id: outcome.submission.id, status: outcome.submission.status, statusUrl });
}

/** What the status API shows: where the record is, never what it says (no body: it holds personal data). */
function statusView(submission: Submission, timeline: Awaited<ReturnType<Store['timeline']>>): Record<string, unknown> {
  return {
    id: submission.id,
    kind: submission.kind,
    source: submission.source,
    inputId: submission.inputId,
    status: submission.status,
    acceptedAt: submission.acceptedAt.toISOString(),
    updatedAt: submission.updatedAt.toISOString(),
    ehrReferences: submission.ehrReferences,
    ...(submission.bodyErasedAt === undefined
      ? {}
      : { erasure: { at: submission.bodyErasedAt.toISOString(), reason: ERASED_MESSAGE } }),
    timeline: timeline.map((entry) => ({
      at: entry.at.toISOString(),
      kind: entry.kind,
      message: entry.message,
      ...(entry.detail === undefined ? {} : { detail: entry.detail }),
    })),
  };
}

/** A discharge's handover at a glance; the timeline tells the story (packets sent or omitted, Task, answers). */
function handoverView(handover: HandoverState | undefined): Record<string, unknown> {
  if (handover === undefined) return {};
  return {
    handover: {
      startedAt: handover.startedAt.toISOString(),
      ...(handover.packetsSentAt === undefined ? {} : { packetsSentAt: handover.packetsSentAt.toISOString() }),
      ...(handover.taskReference === undefined ? {} : { task: handover.taskReference }),
      ...(handover.acknowledgement === undefined
        ? {}
        : {
            acknowledgement: {
              status: handover.acknowledgement.status,
              at: handover.acknowledgement.at.toISOString(),
            },
          }),
      ...(handover.overdueAt === undefined ? {} : { overdueAt: handover.overdueAt.toISOString() }),
    },
  };
}

/** SHA-256 of the input as canonical JSON (keys sorted): the same content hashes the same however it was spelled. */
export function hashOf(input: unknown): string {
  return createHash('sha256').update(canonicalJson(input)).digest('hex');
}

/**
 * Written as one loop per level rather than entries, filter, sort, map and join: it runs on
 * every accept. The text must stay exactly what it was (stored hashes are compared with new ones).
 */
function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i += 1) {
      if (i > 0) out += ',';
      // As Array.prototype.join: an undefined element is written as nothing.
      out += (canonicalJson(value[i]) as string | undefined) ?? '';
    }
    return `${out}]`;
  }
  const object = value as Record<string, unknown>;
  // The default sort compares UTF-16 code units, as a < b does.
  const keys = Object.keys(object).sort();
  let out = '{';
  for (const key of keys) {
    const item = object[key];
    if (item === undefined) continue;
    if (out.length > 1) out += ',';
    out += `${JSON.stringify(key)}:${canonicalJson(item)}`;
  }
  return `${out}}`;
}
