/**
 * The handover role. Five loops, all idempotent, all stopped together:
 *
 * 1. discharge consumer — its own consumer group on the handover topic: each
 *    discharge.requested event begins that discharge's handover exactly once (a state row and a
 *    `handover` job, in one transaction); a redelivered event finds the row and does nothing.
 * 2. handover jobs — gather → build → send → record (make-handover.ts).
 * 3. receipt jobs — a sent message followed until its application receipt (receipts.ts).
 * 4. status consumer + handover-task jobs — receipts and the municipality's answers (the status
 *    topic; the HTTP route writes the same job) set the referral Task's status in the EHR
 *    (task-updates.ts).
 * 5. overdue — handovers unanswered past HANDOVER_ACK_TIMEOUT_MS (overdue.ts).
 */
import type { HandoverAcknowledgementInput } from '../../mappings/inputs.ts';
import { EVENT_TYPES, TOPICS } from '../events/cloud-events.ts';
import type { ConsumedEvent, Subscription } from '../events/event-bus.ts';
import { inParallel } from '../platform/in-parallel.ts';
import { withLogContext, type Logger } from '../platform/logger.ts';
import { Problem } from '../platform/problem.ts';
import { startWorkerLoop, type RunningWorker } from '../store/worker-loop.ts';
import type { Job, Submission } from '../store/store.ts';
import { acknowledgeHandover } from './acknowledgements.ts';
import type { HandoverWorkerDeps } from './handover-deps.ts';
import { retryWhenThrown, UNEXPECTED_FAULT, waitOrFail } from './job-outcomes.ts';
import { runHandover } from './make-handover.ts';
import { startOverdueLoop } from './overdue.ts';
import { followReceipt } from './receipts.ts';
import { taskRetryOrFail, updateTask } from './task-updates.ts';

export type { HandoverWorkerDeps } from './handover-deps.ts';

export interface RunningHandover {
  stop(): Promise<void>;
}

export function startHandoverWorker(deps: HandoverWorkerDeps): Promise<RunningHandover> {
  const log = deps.logger.child({ worker: 'handover' });
  const idleMs = deps.idleMs ?? 500;
  /**
   * One loop per queue, its jobs one at a time, but every job of the batch is attempted even when
   * one throws: the others would otherwise stay leased, untouched, until their lease expired
   * (leaseMs, 2 minutes). A throw is retried with the policy (retryWhenThrown).
   */
  const queueLoop = (
    queue: 'handover' | 'handover-receipt' | 'handover-task',
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
      idleMs,
      // Down to every 2 s while idle (the delivery worker keeps its 500 ms); a discharge accepted
      // here, or a step this process wrote, wakes the loop at once.
      maxIdleMs: deps.maxIdleMs ?? 4 * idleMs,
      ...(deps.signals === undefined ? {} : { signals: deps.signals }),
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
      'handover-receipt',
      8,
      (job) => followReceipt(deps, job, log),
      // A throw while reading a receipt is asked again at the next poll, like a failed read.
      (job, _submission, slog) => retryReceiptAfterThrow(deps, job, slog),
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
      timeline: [
        {
          at: now,
          kind: 'handover-started',
          message: `Handover started: gathering the facts from ${deps.facts.origin}.`,
        },
      ],
      enqueue: [{ queue: 'handover', submissionId, payload: {}, runAt: now }],
    },
    now,
  );
  log.info({ submissionId, begun }, begun ? 'handover begun' : 'handover already begun; event was a redelivery');
}

// ---- the municipality's answers on the status topic ----

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

async function retryReceiptAfterThrow(deps: HandoverWorkerDeps, job: Job, slog: Logger): Promise<void> {
  const now = deps.clock();
  const runAt = new Date(now.getTime() + deps.receiptPolling.maxMs);
  await deps.store.retryLater(job, runAt, {}, now);
  slog.warn({ retryAt: runAt.toISOString() }, 'receipt check threw; asking again later');
}
