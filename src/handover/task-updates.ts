/**
 * The referral Task in the EHR follows what comes back (handover-task jobs): the receiving
 * system's receipt (received, failed) and the municipality's answers (accepted, rejected, …). A
 * failure or a throw is retried with the EHR's policy, from the answer, and given up on the timeline.
 */
import type { Task } from 'fhir/r4.js';
import { searchToken } from '../../mappings/common.ts';
import type { EhrFailure } from '../delivery/ehr.ts';
import { addPersonalValues, type Logger } from '../platform/logger.ts';
import { redactNationalIds } from '../platform/redaction.ts';
import { nextRunAt, retryHorizonReached } from '../platform/retry.ts';
import type { Job, Submission, TimelineEntry } from '../store/store.ts';
import type { TaskUpdate } from './acknowledgements.ts';
import type { HandoverWorkerDeps } from './handover-deps.ts';
import { everyTenth } from './job-outcomes.ts';
import { referralIdentifiers, updatedTask } from './referral.ts';

export async function updateTask(deps: HandoverWorkerDeps, job: Job, log: Logger): Promise<void> {
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
    await endJob(deps, job, 'fail', {
      kind: 'failed',
      message: 'The referral Task is not in the EHR; the answer could not be recorded there.',
    });
    return;
  }
  if (update.status === 'received' && task.status !== 'requested') {
    // The centre answered before its system's receipt was read: its answer stands.
    await endJob(deps, job, 'complete', {
      kind: 'note',
      message: `Referral Task/${task.id} left at ${task.status}: the Frisklivssentral had already answered when its system's receipt came.`,
    });
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
  await endJob(deps, job, 'complete', {
    kind: 'note',
    message: `Referral Task/${task.id} set to ${update.status} in the EHR.`,
    detail: { task: `Task/${task.id}`, status: update.status },
  });
  slog.info({ status: update.status }, 'referral Task updated');
}

/** Finishes the job, completed or failed, with one timeline entry stamped now. */
async function endJob(
  deps: HandoverWorkerDeps,
  job: Job,
  end: 'complete' | 'fail',
  entry: Omit<TimelineEntry, 'at'>,
): Promise<void> {
  const now = deps.clock();
  await deps.store[end](job, { timeline: [{ at: now, ...entry }] }, now);
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
export async function taskRetryOrFail(
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
    const entries: TimelineEntry[] = everyTenth(job)
      ? [
          {
            at: now,
            kind: 'note',
            message: redactNationalIds(`Referral Task update, attempt ${String(job.attempts)}: ${why}; trying again.`),
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
