/**
 * Handovers unanswered past HANDOVER_ACK_TIMEOUT_MS get one handover.overdue event and are
 * counted, once (the store marks them in the same transaction). Each is handled on its own: one
 * that throws is marked without its event or skipped, never ahead of the rest.
 */
import type { DischargeInput } from '../../mappings/inputs.ts';
import { handoverOutgoing } from '../events/discharge-requested.ts';
import type { Logger } from '../platform/logger.ts';
import type { HandoverEffects, HandoverState, Submission } from '../store/store.ts';
import type { HandoverWorkerDeps } from './handover-deps.ts';
import { buildHandoverOverdueEvent } from './handover-events.ts';
import { recipientOf, refOf, UNEXPECTED_FAULT } from './job-outcomes.ts';

export function startOverdueLoop(deps: HandoverWorkerDeps, log: Logger): { stop(): Promise<void> } {
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
