/**
 * The handover role. Four loops, all idempotent, all stopped together:
 *
 * 1. discharge consumer — its own consumer group on the handover topic: each
 *    discharge.requested event begins that discharge's handover exactly once (a state row and a
 *    `handover` job, in one transaction); a redelivered event finds the row and does nothing.
 * 2. handover jobs — gather the facts from the EHR by FHIR search (waiting while the patient or
 *    prescription is not there yet), build the packets, create the referral ServiceRequest + Task
 *    in the EHR (conditional creates), POST the document to the Frisklivssentral's FHIR endpoint
 *    where it has one (If-None-Exist on the document's identifier), and complete the job with the
 *    packet events, the Task and the timeline in one transaction. Any step failing transiently
 *    (or throwing) retries the whole job later with the EHR's retry policy, until its horizon;
 *    each step is safe to repeat.
 * 3. status consumer + handover-task jobs — the municipality's answers (the status topic; the
 *    HTTP route writes the same job) set the referral Task's status in the EHR; a failure or a
 *    throw is retried with the same policy, from the answer, and given up on the timeline.
 * 4. overdue — handovers unanswered past HANDOVER_ACK_TIMEOUT_MS get one handover.overdue event
 *    and are counted, once (the store marks them in the same transaction). Each is handled on
 *    its own: one that throws is marked without its event or skipped, never ahead of the rest.
 */
import type { Task } from 'fhir/r4.js';
import type { DischargeInput, HandoverAcknowledgementInput } from '../../mappings/inputs.ts';
import { searchToken } from '../../mappings/common.ts';
import type { Ehr, EhrFailure } from '../delivery/ehr.ts';
import { EVENT_TYPES, TOPICS } from '../events/cloud-events.ts';
import { redactNationalIds } from '../platform/redaction.ts';
import type { ConsumedEvent, EventBus, Subscription } from '../events/event-bus.ts';
import type { EventValidator } from '../events/event-validator.ts';
import type { InputValidator } from '../contracts/input-validator.ts';
import { inParallel } from '../platform/in-parallel.ts';
import { addPersonalValues, withLogContext, type Logger } from '../platform/logger.ts';
import type { Metrics } from '../platform/metrics.ts';
import { Problem } from '../platform/problem.ts';
import { nextRunAt, retryHorizonReached, type RetryPolicy } from '../platform/retry.ts';
import { startWorkerLoop, type RunningWorker } from '../store/worker-loop.ts';
import type { HandoverEffects, HandoverState, Job, NewJob, Store, Submission, TimelineEntry } from '../store/store.ts';
import { acknowledgeHandover, type TaskUpdate } from './acknowledgements.ts';
import { gatherFacts } from './gather-facts.ts';
import { handoverOutgoing, type DischargeRef } from '../events/discharge-requested.ts';
import { buildHandoverOverdueEvent, buildHandoverPacketEvent, recipientKey } from './handover-events.ts';
import { buildHandoverPackets } from './packets.ts';
import type { RecipientDirectory } from './recipient-directory.ts';
import { buildReferralBundle, referralIdentifiers, updatedTask } from './referral.ts';
import type { FrisklivssentralEntry, HandoverFacts, HandoverPacket } from './types.ts';

export interface HandoverWorkerDeps {
  readonly store: Store;
  readonly bus: EventBus;
  readonly ehr: Ehr;
  /** A FHIR client for a Frisklivssentral's own endpoint (one per base URL, made on first use). */
  readonly endpoint: (baseUrl: string) => Ehr;
  readonly directory: RecipientDirectory;
  readonly hospitalContact: HandoverFacts['hospitalContact'] | undefined;
  readonly eventValidator: EventValidator;
  readonly inputValidator: InputValidator;
  readonly retryPolicy: RetryPolicy;
  /** A discharge is delivered when its handover is made, and failed when it cannot be: counted like any submission. */
  readonly metrics: Pick<Metrics, 'handoverOverdue' | 'submissionDelivered' | 'submissionFailed'>;
  readonly consumerGroup: string;
  readonly statusTopic: string;
  readonly ackTimeoutMs: number;
  readonly clock: () => Date;
  readonly logger: Logger;
  readonly owner: string;
  readonly leaseMs?: number;
  /** How often overdue handovers are looked for; default min(a quarter of the timeout, 1 minute). */
  readonly overdueCheckMs?: number;
  /** Overdue handovers handled per check, oldest first (default 100), beyond those that keep failing. */
  readonly overdueBatchSize?: number;
  readonly idleMs?: number;
}

export interface RunningHandover {
  stop(): Promise<void>;
}

export function startHandoverWorker(deps: HandoverWorkerDeps): Promise<RunningHandover> {
  const log = deps.logger.child({ worker: 'handover' });
  /**
   * One loop per queue, its jobs one at a time, but every job of the batch is attempted even when
   * one throws: the others would otherwise stay leased, untouched, until their lease expired
   * (leaseMs, 2 minutes). A throw is retried with the policy (retryWhenThrown).
   */
  const queueLoop = (
    queue: 'handover' | 'handover-task',
    batchSize: number,
    run: (job: Job) => Promise<void>,
    onThrow: (job: Job, submission: Submission, slog: Logger) => Promise<void>,
  ): RunningWorker =>
    startWorkerLoop({
      name: queue,
      store: deps.store,
      queue,
      owner: `${deps.owner}-${queue}`,
      clock: deps.clock,
      logger: deps.logger,
      leaseMs: deps.leaseMs ?? 120_000,
      batchSize,
      idleMs: deps.idleMs ?? 500,
      reapEveryMs: 10_000,
      handle: (jobs) =>
        inParallel(jobs, 1, (job) =>
          withLogContext({}, () =>
            retryWhenThrown(
              deps,
              job,
              log.child({ submissionId: job.submissionId, attempt: job.attempts }),
              () => run(job),
              (submission, slog) => onThrow(job, submission, slog),
            ),
          ),
        ),
    });
  const loops: RunningWorker[] = [
    queueLoop(
      'handover',
      4,
      (job) => runHandover(deps, job, log),
      (job, submission, slog) => waitOrFail(deps, job, submission, UNEXPECTED_FAULT, undefined, slog),
    ),
    queueLoop(
      'handover-task',
      8,
      (job) => updateTask(deps, job, log),
      (job, submission, slog) => taskRetryOrFail(deps, job, submission, UNEXPECTED_FAULT, true, undefined, slog),
    ),
  ];
  const overdue = startOverdueLoop(deps, log);
  // Subscribed in the background: a Kafka consumer group join can take as long as the session
  // timeout of a member that died (a SIGKILLed replica), and the API must not wait for it to serve.
  // Discharges wait in the topic meanwhile; readiness still reports Kafka itself.
  const subscribing = Promise.allSettled([
    deps.bus.subscribe({
      groupId: deps.consumerGroup,
      topics: [TOPICS.handover],
      fromBeginning: true,
      handler: (event) => onDischargeEvent(deps, event, log),
    }),
    deps.bus.subscribe({
      groupId: `${deps.consumerGroup}.status`,
      topics: [deps.statusTopic],
      fromBeginning: true,
      handler: (event) => onStatusEvent(deps, event, log),
    }),
  ]).then((results) => {
    const subscriptions: Subscription[] = [];
    for (const result of results) {
      if (result.status === 'fulfilled') subscriptions.push(result.value);
      else log.error({ err: result.reason as unknown }, 'a handover consumer could not start; restart this replica');
    }
    return subscriptions;
  });
  return Promise.resolve({
    async stop() {
      await Promise.allSettled((await subscribing).map((subscription) => subscription.stop()));
      await Promise.allSettled([...loops.map((loop) => loop.stop()), overdue.stop()]);
    },
  });
}

// ---- 1. discharge events → one handover each ----

async function onDischargeEvent(deps: HandoverWorkerDeps, event: ConsumedEvent, log: Logger): Promise<void> {
  if (event.value.type !== EVENT_TYPES.dischargeRequested) return;
  const submissionId = typeof event.value.subject === 'string' ? event.value.subject : '';
  const submission = await deps.store.getSubmission(submissionId);
  if (submission?.kind !== 'discharges') {
    // Another deployment's discharge on a shared topic, or one whose record retention removed.
    log.warn(
      { submissionId, offset: event.offset },
      'discharge event for a discharge this store does not hold; skipped',
    );
    return;
  }
  const now = deps.clock();
  const begun = await deps.store.beginHandover(
    submissionId,
    {
      timeline: [{ at: now, kind: 'handover-started', message: 'Handover started: gathering the facts from the EHR.' }],
      enqueue: [{ queue: 'handover', submissionId, payload: {}, runAt: now }],
    },
    now,
  );
  log.info({ submissionId, begun }, begun ? 'handover begun' : 'handover already begun; event was a redelivery');
}

// ---- 2. a handover job: facts → packets → referral → endpoint → events ----

/** From the submission's own columns, not its body: retention erases the body (ADR 0014). */
function refOf(submission: Submission): DischargeRef {
  return {
    submissionId: submission.id,
    source: submission.source,
    dischargeId: submission.inputId,
    patientKey: submission.patientKey,
  };
}

function recipientOf(directory: RecipientDirectory, input: DischargeInput): FrisklivssentralEntry | undefined {
  const herId = input.recipients.frisklivssentral?.herId;
  return herId === undefined ? directory.byMunicipality(input.municipality) : directory.byHerId(herId);
}

/** Said on the timeline for a fault of ours: the error itself may quote the patient, the log redacts it. */
const UNEXPECTED_FAULT = 'an unexpected fault in hit-bridge (the log has the error)';

/**
 * A job that throws (a bug, a configuration changed since intake, an event the schema refuses, a
 * store that failed mid-way) is retried by `retry` with the policy and given up at its horizon,
 * visibly on the timeline — not retried silently each time its lease expires, forever. Both job
 * loops use it. If the store is what failed, the retry cannot be recorded either: that error goes
 * to the loop, and the lease brings the job back.
 */
async function retryWhenThrown(
  deps: HandoverWorkerDeps,
  job: Job,
  slog: Logger,
  run: () => Promise<void>,
  retry: (submission: Submission, slog: Logger) => Promise<void>,
): Promise<void> {
  try {
    await run();
  } catch (error) {
    slog.error({ err: error, queue: job.queue }, 'job attempt failed unexpectedly');
    const submission = await deps.store.getSubmission(job.submissionId);
    if (submission === undefined) throw error;
    await retry(submission, slog);
  }
}

async function runHandover(deps: HandoverWorkerDeps, job: Job, log: Logger): Promise<void> {
  const submission = await deps.store.getSubmission(job.submissionId);
  const slog = log.child({ submissionId: job.submissionId, attempt: job.attempts });
  if (submission?.kind !== 'discharges') {
    slog.error('handover job for no discharge; dropping it');
    await deps.store.fail(job, {}, deps.clock());
    return;
  }
  // Its name, phone, e-mail and national id are scrubbed from every line logged while it is handled:
  // the EHR's words (a failure, a diagnostic) may echo them.
  addPersonalValues(submission.body);
  const input = submission.body as DischargeInput;
  const frisklivssentral = recipientOf(deps.directory, input);
  if (frisklivssentral === undefined) {
    await failHandover(
      deps,
      job,
      'The recipient directory no longer has a Frisklivssentral for this discharge; fix the directory and discharge again under a new dischargeId.',
    );
    return;
  }

  const generatedAt = deps.clock().toISOString();
  const gathered = await gatherFacts(deps.ehr, {
    discharge: input,
    frisklivssentral,
    hospitalContact: deps.hospitalContact,
    generatedAt,
  });
  if (gathered.kind === 'not-yet') {
    await waitOrFail(deps, job, submission, `waiting for the EHR: ${gathered.reason}`, undefined, slog);
    return;
  }
  if (gathered.kind === 'failed') {
    await ehrFailure(deps, job, submission, 'searching the EHR', gathered.failure, slog);
    return;
  }

  let packets;
  try {
    packets = buildHandoverPackets(gathered.facts);
  } catch (error) {
    if (error instanceof Problem && !error.retriable) {
      await failHandover(deps, job, `The packets cannot be made: ${error.detail ?? error.message}`);
      return;
    }
    throw error;
  }

  const timeline: TimelineEntry[] = [];
  let taskReference: string | undefined;
  const fls = packets.frisklivssentral;
  if ('bundle' in fls) {
    const referral = await deps.ehr.transaction(
      buildReferralBundle({ discharge: input, frisklivssentral, prescription: gathered.facts.prescription }),
    );
    if (!referral.ok) {
      await ehrFailure(deps, job, submission, 'creating the referral in the EHR', referral.failure, slog);
      return;
    }
    taskReference = withoutHistory(referral.result.entries[1]?.location);
    const created = referral.result.entries[1]?.status.startsWith('201') === true;
    timeline.push({
      at: deps.clock(),
      kind: 'task-created',
      message: `Referral Task ${taskReference ?? '(no location)'} ${created ? 'created' : 'already'} in the EHR with status requested, owner ${frisklivssentral.name} (HER-id ${frisklivssentral.herId}).`,
      detail: {
        task: taskReference,
        serviceRequest: withoutHistory(referral.result.entries[0]?.location),
        owner: frisklivssentral.herId,
      },
    });

    if (frisklivssentral.fhirEndpoint !== undefined) {
      const identifier = fls.bundle.identifier;
      const posted = await deps
        .endpoint(frisklivssentral.fhirEndpoint)
        .create(fls.bundle, identifier === undefined ? undefined : `identifier=${searchToken(identifier)}`);
      if (!posted.ok) {
        if (posted.failure.retriable) {
          await ehrFailure(
            deps,
            job,
            submission,
            "sending to the Frisklivssentral's FHIR endpoint",
            posted.failure,
            slog,
          );
          return;
        }
        timeline.push({
          at: deps.clock(),
          kind: 'note',
          message: `The Frisklivssentral's FHIR endpoint refused the document (${String(posted.failure.httpStatus)}): ${posted.failure.message}. It is still published on Kafka.`,
          detail: { httpStatus: posted.failure.httpStatus ?? null },
        });
      } else {
        timeline.push({
          at: deps.clock(),
          kind: 'packet-sent',
          message: `Document sent to ${frisklivssentral.name}'s FHIR endpoint (${String(posted.result.httpStatus)}).`,
          detail: { endpoint: frisklivssentral.fhirEndpoint, id: posted.result.id ?? null },
        });
      }
    }
  }

  const now = deps.clock();
  const ref = refOf(submission);
  const enqueue: NewJob[] = [];
  const recipients: [string, HandoverPacket | { readonly omitted: string }][] = [
    ['frisklivssentral', packets.frisklivssentral],
    ['training-contact', packets.trainingContact],
  ];
  for (const [recipient, packet] of recipients) {
    if ('omitted' in packet) {
      timeline.push({
        at: now,
        kind: 'packet-omitted',
        message: `No packet for the ${recipient === 'frisklivssentral' ? 'Frisklivssentral' : 'training contact'}: ${OMITTED_WORDS[packet.omitted] ?? packet.omitted}.`,
        detail: { recipient, reason: packet.omitted },
      });
      continue;
    }
    const event = buildHandoverPacketEvent({ time: now }, ref, packet, frisklivssentral, taskReference);
    deps.eventValidator.assertValidEvent(event);
    const key = recipientKey(packet, ref, frisklivssentral);
    enqueue.push({
      queue: 'event-publish',
      submissionId: submission.id,
      payload: handoverOutgoing(event, key),
      runAt: now,
    });
    timeline.push({
      at: now,
      kind: 'packet-sent',
      message: `Packet for the ${recipient === 'frisklivssentral' ? `Frisklivssentral (${frisklivssentral.name})` : 'training contact'} queued for ${TOPICS.handoverPackets}.`,
      detail: { recipient, key },
    });
  }
  timeline.push({
    at: now,
    kind: 'delivered',
    message: 'Handover made: the packets are queued, the referral is in the EHR. From here the municipality answers.',
  });
  const done = await deps.store.complete(
    job,
    {
      // Delivered: the discharge's own work is done, so retention may erase its personal data
      // (names, phone, e-mail) once the packets are published. Answers still update the Task,
      // by the submission's source and input id.
      status: 'delivered',
      timeline,
      enqueue,
      // Without consent for the Frisklivssentral there is no Task, and so no answer to wait for.
      handover: { packetsSentAt: now, taskReference },
    },
    now,
  );
  if (done) {
    deps.metrics.submissionDelivered('discharges');
    slog.info({ packets: enqueue.length, task: taskReference }, 'handover sent');
  } else slog.warn('handover done, but the lease had passed to another worker');
}

const OMITTED_WORDS: Readonly<Record<string, string>> = {
  'no-consent': 'the patient did not consent',
  'no-training-contact': 'the discharge names no training contact',
};

async function waitOrFail(
  deps: HandoverWorkerDeps,
  job: Job,
  submission: Submission,
  why: string,
  retryAfterMs: number | undefined,
  slog: Logger,
): Promise<void> {
  const now = deps.clock();
  if (retryHorizonReached(submission.acceptedAt, now, deps.retryPolicy)) {
    await failHandover(deps, job, `Gave up: ${why}.`);
    return;
  }
  const runAt = nextRunAt(now, job.attempts, deps.retryPolicy, retryAfterMs);
  // One entry for the first wait and then every tenth: the timeline must stay readable over days.
  const entries: TimelineEntry[] =
    job.attempts === 1 || job.attempts % 10 === 0
      ? [
          {
            at: now,
            kind: 'handover-attempt',
            message: `Handover attempt ${job.attempts}: ${why}; trying again.`,
            detail: { attempt: job.attempts },
          },
        ]
      : [];
  await deps.store.retryLater(job, runAt, { timeline: entries }, now);
  slog.info({ retryAt: runAt.toISOString() }, redactNationalIds(why));
}

async function ehrFailure(
  deps: HandoverWorkerDeps,
  job: Job,
  submission: Submission,
  step: string,
  failure: EhrFailure,
  slog: Logger,
): Promise<void> {
  const why = `${step}: ${failure.httpStatus === undefined ? 'no answer' : `answered ${String(failure.httpStatus)}`} — ${failure.message}`;
  if (failure.retriable) {
    await waitOrFail(deps, job, submission, why, failure.retryAfterMs, slog);
    return;
  }
  await failHandover(deps, job, `The handover failed ${why}.`);
}

async function failHandover(deps: HandoverWorkerDeps, job: Job, message: string): Promise<void> {
  const now = deps.clock();
  await deps.store.fail(
    job,
    { status: 'failed', timeline: [{ at: now, kind: 'failed', message: redactNationalIds(message) }] },
    now,
  );
  deps.metrics.submissionFailed('discharges');
  deps.logger.error({ submissionId: job.submissionId }, 'handover failed for good');
}

function withoutHistory(location: string | undefined): string | undefined {
  if (location === undefined) return undefined;
  const match = /^(?:.*\/)?([A-Za-z]+\/[^/]+)(?:\/_history\/[^/]+)?$/.exec(location);
  return match?.[1] ?? location;
}

// ---- 3. the municipality's answers → the Task ----

async function onStatusEvent(deps: HandoverWorkerDeps, event: ConsumedEvent, log: Logger): Promise<void> {
  const value = event.value;
  const payload = typeof value.specversion === 'string' ? value.data : value;
  const errors = deps.inputValidator.check('handover-acknowledgements', payload);
  if (errors.length > 0) {
    log.warn(
      { offset: event.offset, partition: event.partition, errors: errors.map((e) => `${e.field} ${e.rule}`) },
      'acknowledgement on the status topic breaks its schema; skipped',
    );
    return;
  }
  try {
    await acknowledgeHandover(deps.store, payload as HandoverAcknowledgementInput, deps.clock());
  } catch (error) {
    if (error instanceof Problem && (error.status === 404 || error.status === 409)) {
      log.warn(
        { offset: event.offset, status: error.status },
        `acknowledgement skipped: ${error.detail ?? error.message}`,
      );
      return;
    }
    throw error;
  }
}

async function updateTask(deps: HandoverWorkerDeps, job: Job, log: Logger): Promise<void> {
  const submission = await deps.store.getSubmission(job.submissionId);
  const slog = log.child({ submissionId: job.submissionId, attempt: job.attempts });
  if (submission?.kind !== 'discharges') {
    await deps.store.fail(job, {}, deps.clock());
    return;
  }
  addPersonalValues(submission.body);
  const update = job.payload as TaskUpdate;
  const identifier = referralIdentifiers(submission.source, submission.inputId).task;
  const found = await deps.ehr.search('Task', { identifier: searchToken(identifier) });
  if (!found.ok) {
    await taskEhrFailure(deps, job, submission, found.failure, slog);
    return;
  }
  const task = found.result.find((r): r is Task => r.resourceType === 'Task');
  if (task?.id === undefined) {
    const now = deps.clock();
    await deps.store.fail(
      job,
      {
        timeline: [
          {
            at: now,
            kind: 'failed',
            message: 'The referral Task is not in the EHR; the answer could not be recorded there.',
          },
        ],
      },
      now,
    );
    return;
  }
  const result = await deps.ehr.transaction({
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [{ resource: updatedTask(task, update), request: { method: 'PUT', url: `Task/${task.id}` } }],
  });
  if (!result.ok) {
    await taskEhrFailure(deps, job, submission, result.failure, slog);
    return;
  }
  const now = deps.clock();
  await deps.store.complete(
    job,
    {
      timeline: [
        {
          at: now,
          kind: 'note',
          message: `Referral Task/${task.id} set to ${update.status} in the EHR.`,
          detail: { task: `Task/${task.id}`, status: update.status },
        },
      ],
    },
    now,
  );
  slog.info({ status: update.status }, 'referral Task updated');
}

async function taskEhrFailure(
  deps: HandoverWorkerDeps,
  job: Job,
  submission: Submission,
  failure: EhrFailure,
  slog: Logger,
): Promise<void> {
  const why = `the EHR did not take it (${failure.httpStatus === undefined ? 'no answer' : `answered ${String(failure.httpStatus)}`}): ${failure.message}`;
  await taskRetryOrFail(deps, job, submission, why, failure.retriable, failure.retryAfterMs, slog);
}

/** Like waitOrFail, but the horizon runs from the answer (the job), and the discharge itself stays delivered. */
async function taskRetryOrFail(
  deps: HandoverWorkerDeps,
  job: Job,
  submission: Submission,
  why: string,
  retriable: boolean,
  retryAfterMs: number | undefined,
  slog: Logger,
): Promise<void> {
  const now = deps.clock();
  if (retriable && !retryHorizonReached(job.createdAt, now, deps.retryPolicy)) {
    // One entry for the first retry and then every tenth, as for the handover itself.
    const entries: TimelineEntry[] =
      job.attempts === 1 || job.attempts % 10 === 0
        ? [
            {
              at: now,
              kind: 'note',
              message: redactNationalIds(
                `Referral Task update, attempt ${String(job.attempts)}: ${why}; trying again.`,
              ),
              detail: { attempt: job.attempts },
            },
          ]
        : [];
    await deps.store.retryLater(
      job,
      nextRunAt(now, job.attempts, deps.retryPolicy, retryAfterMs),
      { timeline: entries },
      now,
    );
    slog.warn(`Task update failed; will retry: ${redactNationalIds(why)}`);
    return;
  }
  await deps.store.fail(
    job,
    {
      timeline: [
        {
          at: now,
          kind: 'failed',
          message: redactNationalIds(`The referral Task's new status was not recorded in the EHR: ${why}.`),
        },
      ],
    },
    now,
  );
  slog.error({ submissionId: submission.id }, 'Task update failed for good');
}

// ---- 4. overdue handovers ----

function startOverdueLoop(deps: HandoverWorkerDeps, log: Logger): { stop(): Promise<void> } {
  const every = deps.overdueCheckMs ?? Math.max(1000, Math.min(60_000, Math.floor(deps.ackTimeoutMs / 4)));
  let stopping = false;
  let running: Promise<void> = Promise.resolve();
  // Handovers whose store calls threw, logged once each: the check meets them again every tick.
  const logged = new Set<string>();
  const check = async (): Promise<void> => {
    const now = deps.clock();
    // Read past the ones known to fail (oldest first, they would come back at the head of every
    // batch): however many are stuck, the check still reaches a full batch of others.
    const batch = (deps.overdueBatchSize ?? 100) + logged.size;
    const due = await deps.store.overdueHandovers(new Date(now.getTime() - deps.ackTimeoutMs), batch);
    for (const handover of due) {
      if (stopping) return;
      // One handover that cannot be handled must not hold back the others behind it.
      try {
        await raiseOverdue(deps, handover, now, log);
        logged.delete(handover.submissionId);
      } catch (error) {
        if (logged.has(handover.submissionId)) continue;
        logged.add(handover.submissionId);
        log.error(
          { err: error, submissionId: handover.submissionId },
          'overdue handover could not be marked; the check tries it again, the others go on',
        );
      }
    }
  };
  const timer = setInterval(() => {
    running = running.then(check).catch((error: unknown) => {
      log.error({ err: error }, 'overdue check failed; trying again');
    });
  }, every);
  return {
    async stop() {
      stopping = true;
      clearInterval(timer);
      await running;
    },
  };
}

async function raiseOverdue(deps: HandoverWorkerDeps, handover: HandoverState, now: Date, log: Logger): Promise<void> {
  const submission = await deps.store.getSubmission(handover.submissionId);
  if (submission?.kind !== 'discharges' || handover.packetsSentAt === undefined) return;
  const late = `No answer from the Frisklivssentral within ${formatHours(deps.ackTimeoutMs)} of sending`;
  let effects: HandoverEffects;
  try {
    effects = {
      timeline: [{ at: now, kind: 'overdue', message: `${late}; handover.overdue raised.` }],
      enqueue: [
        {
          queue: 'event-publish',
          submissionId: submission.id,
          payload: handoverOutgoing(
            overdueEvent(deps, submission, handover, handover.packetsSentAt, now),
            submission.patientKey,
          ),
          runAt: now,
        },
      ],
    };
  } catch (error) {
    // No event can be made for it (a bug, an event the schema refuses): the same input fails the
    // same way at every check, so it is marked overdue without its event, visibly on its
    // timeline, rather than tried for ever (ahead of the others).
    log.error({ err: error, submissionId: submission.id }, 'handover overdue, but its event could not be made');
    effects = {
      timeline: [
        {
          at: now,
          kind: 'overdue',
          message: `${late}; handover.overdue could not be raised: ${UNEXPECTED_FAULT}.`,
        },
      ],
    };
  }
  const marked = await deps.store.markHandoverOverdue(submission.id, effects, now);
  if (marked) {
    deps.metrics.handoverOverdue();
    log.warn({ submissionId: submission.id }, 'handover overdue');
  }
}

function overdueEvent(
  deps: HandoverWorkerDeps,
  submission: Submission,
  handover: HandoverState,
  packetsSentAt: Date,
  now: Date,
): ReturnType<typeof buildHandoverOverdueEvent> {
  // Erased by retention (RETENTION_DAYS shorter than the acknowledgement timeout): no recipient to name.
  const input = submission.body as DischargeInput | null;
  const herId =
    input === null
      ? '0'
      : (recipientOf(deps.directory, input)?.herId ?? input.recipients.frisklivssentral?.herId ?? '0');
  const event = buildHandoverOverdueEvent(now, refOf(submission), {
    herId,
    ...(handover.taskReference ? { taskReference: handover.taskReference } : {}),
    packetsSentAt,
    timeoutHours: deps.ackTimeoutMs / 3_600_000,
  });
  deps.eventValidator.assertValidEvent(event);
  return event;
}

function formatHours(ms: number): string {
  const hours = ms / 3_600_000;
  return hours >= 1 ? `${String(Math.round(hours * 10) / 10)} hours` : `${String(Math.round(ms / 1000))} seconds`;
}
