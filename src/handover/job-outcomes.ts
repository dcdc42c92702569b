/**
 * How a handover job ends when it cannot finish now: wait and try again (until the retry horizon),
 * or fail for good, visibly on the discharge's timeline. One place, so every step of the handover
 * and every failure shape reads the same to the person following it.
 */
import type { DischargeInput } from '../../mappings/inputs.ts';
import type { EhrFailure } from '../delivery/ehr.ts';
import type { DischargeRef } from '../events/discharge-requested.ts';
import type { Logger } from '../platform/logger.ts';
import { redactNationalIds } from '../platform/redaction.ts';
import { nextRunAt, retryHorizonReached } from '../platform/retry.ts';
import type { Job, NewJob, Submission, TimelineEntry } from '../store/store.ts';
import { failureWords } from './channels/channel.ts';
import type { HandoverWorkerDeps } from './handover-deps.ts';
import type { RecipientDirectory } from './recipient-directory.ts';
import type { FrisklivssentralEntry } from './types.ts';

/** Said on the timeline for a fault of ours: the error itself may quote the patient, the log redacts it. */
export const UNEXPECTED_FAULT = 'an unexpected fault in hit-bridge (the log has the error)';

/** From the submission's own columns, not its body: retention erases the body (ADR 0014). */
export function refOf(submission: Submission): DischargeRef {
  return {
    submissionId: submission.id,
    source: submission.source,
    dischargeId: submission.inputId,
    patientKey: submission.patientKey,
  };
}

export function recipientOf(directory: RecipientDirectory, input: DischargeInput): FrisklivssentralEntry | undefined {
  const herId = input.recipients.frisklivssentral?.herId;
  return herId === undefined ? directory.byMunicipality(input.municipality) : directory.byHerId(herId);
}

/**
 * A job that throws (a bug, a configuration changed since intake, an event the schema refuses, a
 * store that failed mid-way) is retried by `retry` with the policy and given up at its horizon,
 * visibly on the timeline — not retried silently each time its lease expires, forever. Every job
 * loop uses it. If the store is what failed, the retry cannot be recorded either: that error goes
 * to the loop, and the lease brings the job back.
 */
export async function retryWhenThrown(
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

export async function waitOrFail(
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
  const entries: TimelineEntry[] = everyTenth(job)
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

/** One entry for the first try and then every tenth: a timeline must stay readable over days. */
export function everyTenth(job: Job): boolean {
  return job.attempts === 1 || job.attempts % 10 === 0;
}

export async function portFailure(
  deps: HandoverWorkerDeps,
  job: Job,
  submission: Submission,
  step: string,
  failure: EhrFailure,
  slog: Logger,
): Promise<void> {
  const why = `${step}: ${failureWords(failure)}`;
  if (failure.retriable) {
    await waitOrFail(deps, job, submission, why, failure.retryAfterMs, slog);
    return;
  }
  await failHandover(deps, job, `The handover failed ${why}.`);
}

/** `enqueue`: what must still follow the failure (the referral Task marked failed in the EHR). */
export async function failHandover(
  deps: HandoverWorkerDeps,
  job: Job,
  message: string,
  enqueue: readonly NewJob[] = [],
): Promise<void> {
  const now = deps.clock();
  await deps.store.fail(
    job,
    { status: 'failed', timeline: [{ at: now, kind: 'failed', message: redactNationalIds(message) }], enqueue },
    now,
  );
  deps.metrics.submissionFailed('discharges');
  deps.logger.error({ submissionId: job.submissionId }, 'handover failed for good');
}
