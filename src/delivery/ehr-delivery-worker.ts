/**
 * The ehr-delivery worker: takes accepted submissions, maps them to a transaction Bundle, posts
 * it to the EHR, and records what happened.
 *
 * - Delivered: the EHR's resource references, the timeline, and the "…recorded" event to publish
 *   are written in the same transaction that completes the job (outbox: never an event for a
 *   record the EHR lacks, never a delivered record without its event).
 * - A transient failure (network, timeout, 408/429/5xx, breaker open) is retried with backoff,
 *   honouring Retry-After, until the retry horizon; each attempt is on the timeline.
 * - A permanent failure (the EHR refused the Bundle), or the horizon passed: the submission is
 *   failed with the EHR's own words and a delivery.failed event; `replay` re-queues it.
 *
 * The Bundle's creates are conditional on business identifiers, so a job delivered twice (a
 * worker killed after the EHR answered, before it could record so) creates nothing new. Under the
 * dips-arena EHR profile there is no transaction: each resource is searched for by its business
 * identifier and created only if absent (src/delivery/create-only.ts).
 */
import {
  businessIdentifier,
  DEFAULT_MAPPING_OPTIONS,
  searchToken,
  type MappingOptions,
} from '../../mappings/common.ts';
import { withProvenance } from '../../mappings/provenance.ts';
import {
  buildDeliveryFailedEvent,
  buildRecordedEvent,
  eventId,
  failureReason,
  EVENT_TYPES,
  occurredAtOf,
  RECORD_EVENT_TYPE,
  toOutgoingEvent,
  type HitBridgeEvent,
} from '../events/cloud-events.ts';
import type { EventValidator } from '../events/event-validator.ts';
import type { Mappers } from '../contracts/mappers.ts';
import { redactNationalIds } from '../platform/redaction.ts';
import { currentTraceCarrier, inSpan, SpanKind, traceCarrierOf } from '../platform/tracing.ts';
import { addPersonalValues, withLogContext, type Logger } from '../platform/logger.ts';
import type { Metrics } from '../platform/metrics.ts';
import { nextRunAt, retryHorizonReached, type RetryPolicy } from '../platform/retry.ts';
import { startContinuousWorkerLoop } from '../store/continuous-worker-loop.ts';
import type { JobSignals } from '../store/job-signals.ts';
import type { RunningWorker, WorkerTuning } from '../store/worker-loop.ts';
import type { FailureReason, Job, NewJob, Store, Submission, TimelineEntry } from '../store/store.ts';
import type { Bundle } from 'fhir/r4.js';
import { EPISODE_FIELD } from '../../mappings/dips-arena.ts';
import { adaptiveConcurrency, fixedConcurrency, observedEhr } from './adaptive-concurrency.ts';
import { createOnlyOnce } from './create-only.ts';
import type { Ehr, EhrFailure, Outcome, TransactionOutcome } from './ehr.ts';
import { isRecordKind, waitsForOf, type Inputs, type RecordKind } from '../kinds/kinds.ts';

export interface EhrDeliveryDeps extends WorkerTuning {
  readonly store: Store;
  readonly ehr: Ehr;
  readonly ehrBaseUrl: string | undefined;
  readonly mappers: Mappers;
  readonly mappingOptions?: MappingOptions;
  readonly eventValidator: EventValidator;
  readonly retryPolicy: RetryPolicy;
  readonly clock: () => Date;
  readonly logger: Logger;
  readonly metrics: Pick<Metrics, 'submissionDelivered' | 'submissionFailed'>;
  /** Bundles in flight to the EHR at once (default 1); with `adaptive`, the most there may be. */
  readonly concurrency?: number;
  /** Fewer in flight while the EHR answers 429, 503 or not at all (src/delivery/adaptive-concurrency.ts). */
  readonly adaptive?: boolean;
  /** Submissions this process accepted, claimed at once rather than at the next poll (src/store/job-signals.ts). */
  readonly signals?: JobSignals;
}

export function startEhrDeliveryWorker(deps: EhrDeliveryDeps): RunningWorker {
  const log = deps.logger.child({ worker: 'ehr-delivery' });
  const concurrency = deps.concurrency ?? 1;
  const limit = deps.adaptive === true ? adaptiveConcurrency(concurrency) : fixedConcurrency(concurrency);
  // Only an adaptive limit learns from the answers: a fixed one needs no timing of each call.
  const observed: EhrDeliveryDeps = deps.adaptive === true ? { ...deps, ehr: observedEhr(deps.ehr, limit) } : deps;
  return startContinuousWorkerLoop({
    name: 'ehr-delivery',
    store: deps.store,
    queue: 'ehr-delivery',
    owner: deps.owner,
    clock: deps.clock,
    logger: deps.logger,
    leaseMs: deps.leaseMs ?? 120_000,
    batchSize: deps.batchSize ?? Math.max(8, concurrency),
    // Every 500 ms however long the queue stays empty, unlike the other loops: `ehr` workers in
    // processes of their own find the accepts of the API's process only by this poll, and a burst
    // after a quiet spell must not wait longer for them
    // (docs/adr/0063-idle-polls-back-off-and-local-work-wakes-every-loop.md).
    idleMs: deps.idleMs ?? 500,
    ...(deps.maxIdleMs === undefined ? {} : { maxIdleMs: deps.maxIdleMs }),
    reapEveryMs: 10_000,
    // A bounded number of Bundles in flight (EHR_DELIVERY_CONCURRENCY), each slot refilled as soon
    // as its Bundle is answered: one at a time left the EHR idle between answers, and a batch
    // waited for its slowest Bundle (bench/README.md). Bundles are independent: conditional creates
    // make a race between two harmless (409, retried), and a session whose prescription is still
    // on its way waits for it.
    slots: () => limit.current(),
    ...(deps.signals === undefined ? {} : { signals: deps.signals }),
    handle: (job) =>
      // The trace the submission's request began (its context is in the job's payload) goes on here.
      inSpan('ehr-delivery', { kind: SpanKind.CONSUMER, parent: traceCarrierOf(job.payload) }, () =>
        withLogContext({ submissionId: job.submissionId, attempt: job.attempts }, () => deliver(observed, job, log)),
      ),
  });
}

async function deliver(deps: EhrDeliveryDeps, job: Job, log: Logger): Promise<void> {
  const submission = await deps.store.getSubmission(job.submissionId);
  if (submission === undefined || !isRecordKind(submission.kind)) {
    log.error({ jobId: job.id }, 'delivery job for no deliverable submission; dropping it');
    await deps.store.fail(job, {}, deps.clock());
    return;
  }
  const kind = submission.kind;
  // Its national id and names are scrubbed from every line logged while it is handled (the EHR may echo them).
  addPersonalValues(submission.body);
  const options = deps.mappingOptions ?? DEFAULT_MAPPING_OPTIONS;
  if (options.ehrProfile === 'dips-arena') {
    await deliverCreateOnly(deps, job, submission, kind, log);
    return;
  }
  const prescription = await prescriptionOf(deps.store, submission);
  if (prescription.state === 'undelivered') {
    await waitForPrescription(
      deps,
      job,
      submission,
      kind,
      prescription.submission.inputId,
      prescriptionWait(prescription.submission),
      log,
    );
    return;
  }
  if (prescription.state === 'unknown') {
    const inEhr = await prescriptionInEhr(deps.ehr, submission.source, prescription.inputId);
    if (!inEhr.ok) {
      await recordFailure(deps, job, submission, kind, inEhr.failure, log);
      return;
    }
    if (!inEhr.result) {
      const message = `The EHR has no prescription ${prescription.inputId} yet (a search by its identifier found none); waiting for it.`;
      await waitForPrescription(deps, job, submission, kind, prescription.inputId, message, log);
      return;
    }
  }
  // The EHR's audit trail rides in the same transaction: the record and its Provenance, or neither.
  const mapped = mapSubmission(deps, kind, submission.body as Inputs[typeof kind]);
  const bundle = withProvenance(mapped, {
    recorded: submission.acceptedAt.toISOString(),
    source: submission.source,
  });
  const outcome = await deps.ehr.transaction(bundle);
  await recordOutcome(deps, job, submission, kind, mapped, outcome, log);
}

/**
 * The dips-arena profile (docs/adr/0021-dips-arena-profile.md): the shaped record is created
 * once, never updated, and carries no Provenance (DIPS has no place for one; the timeline and the
 * events are hit-bridge's audit). A session does not wait for its prescription: DIPS holds no
 * prescription and the Procedure does not refer to one.
 */
async function deliverCreateOnly(
  deps: EhrDeliveryDeps,
  job: Job,
  submission: Submission,
  kind: RecordKind,
  log: Logger,
): Promise<void> {
  const body = submission.body as Inputs[typeof kind];
  if (body.episodeId === undefined) {
    // Accepted before the deployment moved to dips-arena: no retry can supply the episode.
    const failure = {
      retriable: false,
      httpStatus: undefined,
      message: `the input has no ${EPISODE_FIELD}, which the dips-arena EHR profile needs (it was accepted under another profile); send it again with the DIPS care episode`,
      operationOutcome: undefined,
      retryAfterMs: undefined,
    };
    await recordFailure(deps, job, submission, kind, failure, log);
    return;
  }
  const mapped = mapSubmission(deps, kind, body);
  const outcome = await createOnlyOnce(deps.ehr, mapped);
  await recordOutcome(deps, job, submission, kind, mapped, outcome, log);
}

async function recordOutcome(
  deps: EhrDeliveryDeps,
  job: Job,
  submission: Submission,
  kind: RecordKind,
  mapped: Bundle,
  outcome: TransactionOutcome,
  log: Logger,
): Promise<void> {
  const now = deps.clock();

  if (outcome.ok) {
    // The record's own resources; the Provenance about them is the EHR's audit, not part of the record.
    const recordEntries = outcome.result.entries.slice(0, mapped.entry?.length ?? 0);
    const references = recordEntries.flatMap((entry) => (entry.location ? [withoutHistory(entry.location)] : []));
    const created = recordEntries.filter((entry) => entry.status.startsWith('201')).length;
    const event = buildRecordedEvent(
      { id: eventId(submission.id, RECORD_EVENT_TYPE[kind]), time: now },
      {
        submission: refOf(submission, kind),
        occurredAt: occurredAtOf(kind, submission.body as Record<string, string>),
        ...(deps.ehrBaseUrl === undefined ? {} : { ehrBaseUrl: deps.ehrBaseUrl }),
        ehrReferences: references,
      },
    );
    const done = await deps.store.complete(
      job,
      {
        status: 'delivered',
        ehrReferences: references,
        timeline:
          (mapped.entry?.length ?? 0) === 0
            ? [
                {
                  at: now,
                  kind: 'delivered',
                  message: `The EHR profile takes nothing of a ${kind} record: nothing was sent to the EHR; hit-bridge keeps the record; its event has no EHR references.`,
                  detail: { references },
                },
              ]
            : [
                attemptEntry(now, job.attempts, `the EHR answered ${outcome.result.httpStatus}`, {
                  httpStatus: outcome.result.httpStatus,
                }),
                {
                  at: now,
                  kind: 'delivered',
                  message: `Delivered to the EHR: ${references.length} resources (${created} new, ${references.length - created} already there).`,
                  detail: { references },
                },
              ],
        enqueue: [publishJob(deps, submission, event, now)],
      },
      now,
      // Not a flush on the event loop per delivery: a completion a power loss undoes is delivered
      // again, which creates nothing new in the EHR, and its event keeps its id
      // (docs/adr/0055-sqlite-event-loop-never-waits-for-the-disk.md).
      { waitForDisk: false },
    );
    if (done) {
      deps.metrics.submissionDelivered(kind);
      log.info({ references: references.length, created }, 'delivered to the EHR');
    } else log.warn('delivered, but the lease had passed to another worker; it will record the outcome');
    return;
  }

  await recordFailure(deps, job, submission, kind, outcome.failure, log);
}

/** A failed attempt: retried with backoff until the horizon, else the submission fails with the EHR's words. */
async function recordFailure(
  deps: EhrDeliveryDeps,
  job: Job,
  submission: Submission,
  kind: RecordKind,
  failure: EhrFailure,
  log: Logger,
): Promise<void> {
  const now = deps.clock();
  const attempt = attemptEntry(now, job.attempts, describeFailure(failure), {
    ...(failure.httpStatus === undefined ? {} : { httpStatus: failure.httpStatus }),
    retriable: failure.retriable,
    ...(failure.retryAfterMs === undefined ? {} : { retryAfterMs: failure.retryAfterMs }),
  });

  if (failure.retriable && !retryHorizonReached(submission.acceptedAt, now, deps.retryPolicy)) {
    const runAt = nextRunAt(now, job.attempts, deps.retryPolicy, failure.retryAfterMs);
    await deps.store.retryLater(job, runAt, { timeline: [attempt] }, now);
    log.warn(
      { httpStatus: failure.httpStatus, retryAt: runAt.toISOString() },
      `EHR attempt failed: ${redactNationalIds(failure.message)}`,
    );
    return;
  }

  // The timeline outlives retention and is shown by the status API: the EHR's words, made safe.
  const why = failure.retriable
    ? `The EHR could not be reached for ${Math.round(deps.retryPolicy.horizonMs / 3_600_000)} hours; last error: ${failureReason(failure.message)}`
    : `The EHR refused the record: ${failureReason(failure.message)}`;
  const event = buildDeliveryFailedEvent(
    { id: eventId(submission.id, EVENT_TYPES.deliveryFailed, job.id), time: now },
    {
      submission: refOf(submission, kind),
      httpStatus: failure.httpStatus ?? null,
      reason: failure.message,
      attempts: job.attempts,
    },
  );
  const recorded = await deps.store.fail(
    job,
    {
      status: 'failed',
      timeline: [
        attempt,
        {
          at: now,
          kind: 'failed',
          message: why,
          detail: { httpStatus: failure.httpStatus ?? null, reason: failureReasonOf(failure) },
        },
      ],
      enqueue: [publishJob(deps, submission, event, now)],
    },
    now,
  );
  if (recorded) deps.metrics.submissionFailed(kind);
  log.error({ httpStatus: failure.httpStatus }, 'delivery failed for good; replay after fixing the cause');
}

/**
 * A session's Procedure refers to its prescription's ServiceRequest by identifier, and the EHR
 * refuses a conditional reference that matches nothing — a refusal that would be final. But
 * sessions and their prescription arrive in any order (a clinic's tablet syncs in bursts), so a
 * session waits for its prescription before posting: while the prescription is with us and not
 * yet delivered, or, when we have not seen it at all, while a search of the EHR by its
 * identifier finds no ServiceRequest (it may still come, through us or another way). The
 * decision rests on that structure, never on the wording of an EHR's error. Only the retry
 * horizon ends the wait.
 */
type PrescriptionState =
  | { readonly state: 'none' | 'delivered' }
  | { readonly state: 'undelivered'; readonly submission: Submission }
  | { readonly state: 'unknown'; readonly inputId: string };

async function prescriptionOf(store: Store, submission: Submission): Promise<PrescriptionState> {
  // Which kinds wait, and for what, their descriptors say (src/kinds/kinds.ts).
  const waits = waitsForOf(submission.kind);
  if (waits === undefined) return { state: 'none' };
  const prescriptionId = (submission.body as Readonly<Record<string, unknown>>)[waits.field];
  if (typeof prescriptionId !== 'string') return { state: 'none' };
  const prescription = await store.findSubmission(submission.source, waits.kind, prescriptionId);
  if (prescription === undefined) return { state: 'unknown', inputId: prescriptionId };
  return prescription.status === 'delivered'
    ? { state: 'delivered' }
    : { state: 'undelivered', submission: prescription };
}

/** Whether the EHR holds the prescription's ServiceRequest, found by the business identifier the session's basedOn names. */
async function prescriptionInEhr(ehr: Ehr, source: string, prescriptionId: string): Promise<Outcome<boolean>> {
  const identifier = businessIdentifier(source, 'prescription', prescriptionId);
  const found = await ehr.search('ServiceRequest', { identifier: searchToken(identifier) });
  if (!found.ok) return found;
  return { ok: true, result: found.result.some((resource) => resource.resourceType === 'ServiceRequest') };
}

/** A retriable failure that outlived the horizon: the EHR was out of reach; anything else it refused. */
function failureReasonOf(failure: EhrFailure): FailureReason {
  return failure.retriable ? 'ehr-unreachable' : 'ehr-refused';
}

function prescriptionWait(prescription: Submission): string {
  const state =
    prescription.status === 'failed'
      ? `failed (submission ${prescription.id}; replay it once its cause is fixed)`
      : 'not reached the EHR yet';
  return `Waiting for prescription ${prescription.inputId}: it has ${state}; this session refers to it.`;
}

async function waitForPrescription(
  deps: EhrDeliveryDeps,
  job: Job,
  submission: Submission,
  kind: RecordKind,
  prescriptionId: string,
  message: string,
  log: Logger,
): Promise<void> {
  const now = deps.clock();
  if (!retryHorizonReached(submission.acceptedAt, now, deps.retryPolicy)) {
    const runAt = nextRunAt(now, job.attempts, deps.retryPolicy);
    await deps.store.retryLater(job, runAt, { timeline: [{ at: now, kind: 'note', message }] }, now);
    log.info({ retryAt: runAt.toISOString() }, 'waiting for the prescription to reach the EHR');
    return;
  }
  const why = `Prescription ${prescriptionId} did not reach the EHR within ${Math.round(deps.retryPolicy.horizonMs / 3_600_000)} hours, so this session could not be recorded against it. Last: ${message}`;
  const event = buildDeliveryFailedEvent(
    { id: eventId(submission.id, EVENT_TYPES.deliveryFailed, job.id), time: now },
    { submission: refOf(submission, kind), httpStatus: null, reason: why, attempts: job.attempts },
  );
  await deps.store.fail(
    job,
    {
      status: 'failed',
      timeline: [
        { at: now, kind: 'failed', message: why, detail: { reason: 'prescription-missing' satisfies FailureReason } },
      ],
      enqueue: [publishJob(deps, submission, event, now)],
    },
    now,
  );
  log.error('gave up waiting for the prescription');
}

function mapSubmission<K extends RecordKind>(deps: EhrDeliveryDeps, kind: K, input: Inputs[K]) {
  return deps.mappers[kind](input, deps.mappingOptions ?? DEFAULT_MAPPING_OPTIONS);
}

function refOf<K extends RecordKind>(submission: Submission, kind: K) {
  return {
    submissionId: submission.id,
    kind,
    source: submission.source,
    inputId: submission.inputId,
    patientKey: submission.patientKey,
  };
}

/** The event goes out through the outbox like everything else; an invalid one is our bug, caught here. */
function publishJob(deps: EhrDeliveryDeps, submission: Submission, event: HitBridgeEvent, now: Date): NewJob {
  deps.eventValidator.assertValidEvent(event);
  const outgoing = toOutgoingEvent(event);
  // The event carries this trace on, through the outbox, to the relay and the Kafka headers.
  const payload = { ...outgoing, headers: { ...outgoing.headers, ...currentTraceCarrier() } };
  return { queue: 'event-publish', submissionId: submission.id, payload, runAt: now };
}

function attemptEntry(at: Date, attempt: number, what: string, detail: Record<string, unknown>): TimelineEntry {
  return { at, kind: 'ehr-attempt', message: `EHR attempt ${attempt}: ${what}.`, detail: { attempt, ...detail } };
}

function describeFailure(failure: EhrFailure): string {
  const status =
    failure.stage === 'token'
      ? 'not sent, no access token'
      : failure.httpStatus === undefined
        ? 'no answer'
        : `the EHR answered ${failure.httpStatus}`;
  return `${status} — ${failureReason(failure.message)}${failure.retriable ? ' (will retry)' : ''}`;
}

/** "Procedure/123/_history/1" → "Procedure/123": consumers fetch the current version. */
function withoutHistory(location: string): string {
  const match = /^(?:.*\/)?([A-Za-z]+\/[^/]+)(?:\/_history\/[^/]+)?$/.exec(location);
  return match?.[1] ?? location;
}
