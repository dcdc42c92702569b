/**
 * The receipt of a sent message closes the loop (handover-receipt jobs). Norsk Helsenett's
 * message service v2 has no notifications, so the job asks, with growing pauses, until the
 * receiving system's application receipt (AppRec) has come or the acknowledgement timeout has
 * passed (then the overdue path speaks, as for any unanswered handover):
 *
 * - OK → the referral Task becomes `received` (the centre's system has it; whether the centre
 *   takes the patient still comes as an acknowledgement: accepted or rejected);
 * - OK, feil i delmelding → the same, with the receiver's warning on the timeline;
 * - Avvist (or the transport gave up) → the handover is failed, with the receipt's error codes
 *   and descriptions on the timeline, a handover.rejected event, and the Task failed.
 */
import { handoverOutgoing } from '../events/discharge-requested.ts';
import type { Logger } from '../platform/logger.ts';
import { redactNationalIds } from '../platform/redaction.ts';
import { nextRunAt, retryHorizonReached, type RetryPolicy } from '../platform/retry.ts';
import type { Job, NewJob, Submission, TimelineEntry } from '../store/store.ts';
import type { PendingReceipt, ReceiptError, ReceiptReading } from './channels/channel.ts';
import { failureWords } from './channels/channel.ts';
import type { HandoverWorkerDeps } from './handover-deps.ts';
import { buildHandoverRejectedEvent } from './handover-events.ts';
import { everyTenth, refOf } from './job-outcomes.ts';

/** Polling as a retry policy: the one backoff module, with the acknowledgement timeout as horizon. */
function pollingPolicy(deps: HandoverWorkerDeps): RetryPolicy {
  return {
    initialDelayMs: deps.receiptPolling.firstMs,
    maxDelayMs: deps.receiptPolling.maxMs,
    multiplier: 2,
    horizonMs: deps.ackTimeoutMs,
    maxRetryAfterMs: deps.receiptPolling.maxMs,
  };
}

/** When a just-sent message's receipt is first asked for: no receiver answers within milliseconds. */
export function firstReceiptPoll(deps: HandoverWorkerDeps, sentAt: Date): Date {
  return new Date(sentAt.getTime() + deps.receiptPolling.firstMs);
}

export async function followReceipt(deps: HandoverWorkerDeps, job: Job, log: Logger): Promise<void> {
  const submission = await deps.store.getSubmission(job.submissionId);
  const slog = log.child({ submissionId: job.submissionId, attempt: job.attempts });
  const now = deps.clock();
  if (submission?.kind !== 'discharges') {
    await deps.store.fail(job, {}, now);
    return;
  }
  const pending = job.payload as PendingReceipt;
  const channel = deps.channels[pending.channel];
  if (channel?.readReceipt === undefined) {
    await deps.store.fail(
      job,
      {
        timeline: [
          {
            at: now,
            kind: 'note',
            message: `The receipt of message ${pending.msgId} is no longer followed: channel ${pending.channel} is not configured any more.`,
          },
        ],
      },
      now,
    );
    return;
  }
  const read = await channel.readReceipt(pending);
  if (!read.ok) {
    await askAgainLater(deps, job, pending, `asking for the receipt: ${failureWords(read.failure)}`, slog);
    return;
  }
  const reading = read.result;
  switch (reading.kind) {
    case 'waiting':
      await askAgainLater(deps, job, pending, undefined, slog, reading.transport);
      return;
    case 'received':
      await received(deps, job, submission, pending, reading.warnings, slog);
      return;
    case 'rejected':
      await rejected(deps, job, submission, pending, reading, slog);
      return;
  }
}

async function askAgainLater(
  deps: HandoverWorkerDeps,
  job: Job,
  pending: PendingReceipt,
  failure: string | undefined,
  slog: Logger,
  transport?: string,
): Promise<void> {
  const now = deps.clock();
  const policy = pollingPolicy(deps);
  if (retryHorizonReached(new Date(pending.sentAt), now, policy)) {
    // The handover itself stays delivered: the overdue check raises handover.overdue for it.
    await deps.store.complete(
      job,
      {
        timeline: [
          {
            at: now,
            kind: 'receipt',
            message: `No application receipt for message ${pending.msgId} within the acknowledgement timeout${failure === undefined ? '' : ` (last: ${redactNationalIds(failure)})`}; no longer asking. The handover counts as unanswered.`,
            detail: { msgId: pending.msgId, messageId: pending.messageId, transport: transport ?? null },
          },
        ],
      },
      now,
    );
    slog.warn({ msgId: pending.msgId }, 'no receipt within the acknowledgement timeout');
    return;
  }
  const timeline: TimelineEntry[] =
    failure !== undefined && everyTenth(job)
      ? [
          {
            at: now,
            kind: 'note',
            message: redactNationalIds(
              `Receipt of message ${pending.msgId}, attempt ${String(job.attempts)}: ${failure}; trying again.`,
            ),
            detail: { attempt: job.attempts },
          },
        ]
      : [];
  await deps.store.retryLater(job, nextRunAt(now, job.attempts, policy), { timeline }, now);
}

async function received(
  deps: HandoverWorkerDeps,
  job: Job,
  submission: Submission,
  pending: PendingReceipt,
  warnings: readonly ReceiptError[],
  slog: Logger,
): Promise<void> {
  const now = deps.clock();
  const handover = await deps.store.getHandover(submission.id);
  const enqueue: NewJob[] =
    handover?.taskReference === undefined
      ? []
      : [
          {
            queue: 'handover-task',
            submissionId: submission.id,
            payload: { status: 'received', at: now.toISOString() },
            runAt: now,
          },
        ];
  const warned = warnings.length === 0 ? '' : ` with a warning: ${errorWords(warnings)}`;
  await deps.store.complete(
    job,
    {
      timeline: [
        {
          at: now,
          kind: 'receipt',
          message: redactNationalIds(
            `Application receipt OK${warnings.length === 0 ? '' : ', feil i delmelding'} from HER-id ${pending.receiverHerId}: the Frisklivssentral's system has the handover${warned}.`,
          ),
          detail: {
            msgId: pending.msgId,
            messageId: pending.messageId,
            status: warnings.length === 0 ? 'ok' : 'ok-with-errors',
            errors: warnings.map((w) => ({ code: w.code, description: redactNationalIds(w.description) })),
          },
        },
      ],
      enqueue,
    },
    now,
  );
  slog.info({ msgId: pending.msgId, warnings: warnings.length }, 'application receipt OK');
}

async function rejected(
  deps: HandoverWorkerDeps,
  job: Job,
  submission: Submission,
  pending: PendingReceipt,
  reading: Extract<ReceiptReading, { kind: 'rejected' }>,
  slog: Logger,
): Promise<void> {
  const now = deps.clock();
  const handover = await deps.store.getHandover(submission.id);
  const who =
    reading.by === 'receiver'
      ? `The Frisklivssentral's system refused the handover (AppRec Avvist, HER-id ${pending.receiverHerId})`
      : `Norsk Helsenett could not deliver the handover to HER-id ${pending.receiverHerId}`;
  const message = redactNationalIds(`${who}: ${errorWords(reading.errors)}.`);
  // Recorded as the handover's answer (failed) with its event and the Task's change in one
  // transaction; a job retried after a crash finds it recorded and only finishes.
  if (handover?.acknowledgement?.status !== 'failed') {
    const event = buildHandoverRejectedEvent(now, refOf(submission), {
      herId: pending.receiverHerId,
      ...(handover?.taskReference === undefined ? {} : { taskReference: handover.taskReference }),
      msgId: pending.msgId,
      messageId: pending.messageId,
      rejectedBy: reading.by,
      errors: reading.errors,
    });
    deps.eventValidator.assertValidEvent(event);
    await deps.store.acknowledgeHandover(
      submission.id,
      { status: 'failed', at: now },
      {
        timeline: [
          {
            at: now,
            kind: 'receipt',
            message,
            detail: {
              msgId: pending.msgId,
              messageId: pending.messageId,
              status: 'rejected',
              rejectedBy: reading.by,
              errors: reading.errors.map((e) => ({ code: e.code, description: redactNationalIds(e.description) })),
            },
          },
        ],
        enqueue: [
          {
            queue: 'event-publish',
            submissionId: submission.id,
            payload: handoverOutgoing(event, submission.patientKey),
            runAt: now,
          },
          ...(handover?.taskReference === undefined
            ? []
            : [
                {
                  queue: 'handover-task' as const,
                  submissionId: submission.id,
                  payload: { status: 'failed', reason: message, at: now.toISOString() },
                  runAt: now,
                },
              ]),
        ],
      },
      now,
    );
  }
  await deps.store.fail(
    job,
    { status: 'failed', timeline: [{ at: now, kind: 'failed', message: `The handover failed: ${message}` }] },
    now,
  );
  deps.metrics.submissionFailed('discharges');
  slog.error({ msgId: pending.msgId, by: reading.by }, 'handover refused by its receiver');
}

function errorWords(errors: readonly ReceiptError[]): string {
  return errors.length === 0 ? 'no reason given' : errors.map((e) => `${e.code} ${e.description}`).join('; ');
}
