/**
 * The municipality's answer to a handover, from either door (POST /v1/handover-acknowledgements
 * or the status topic): recorded on the discharge's timeline, and a handover-task job that sets
 * the referral Task in the EHR to the new status — written together, so an answer is never
 * recorded without the Task following, and the EHR call happens outside any request.
 */
import type { HandoverAcknowledgementInput } from '../../mappings/inputs.ts';
import { conflict, notFound } from '../platform/problem.ts';
import type { Store } from '../store/store.ts';
import type { TaskStatusUpdate } from './referral.ts';

/** What a handover-task job carries: an answer, or what the receiving system's receipt said. */
export interface TaskUpdate {
  readonly status: TaskStatusUpdate;
  readonly reason?: string;
  /** ISO 8601: when the municipality decided. */
  readonly at: string;
}

const STATUS_WORDS: Readonly<Record<HandoverAcknowledgementInput['status'], string>> = {
  accepted: 'accepted the handover',
  rejected: 'rejected the handover',
  'in-progress': 'started the training programme',
  'on-hold': 'put the training programme on hold',
  failed: 'could not carry out the training programme',
  completed: 'completed the training programme',
};

export async function acknowledgeHandover(store: Store, ack: HandoverAcknowledgementInput, now: Date): Promise<void> {
  const submission = await store.getSubmission(ack.handoverId);
  if (submission?.kind !== 'discharges') throw notFound(`There is no handover ${ack.handoverId}.`);
  const at = ack.at === undefined ? now : new Date(ack.at);
  const update: TaskUpdate = {
    status: ack.status,
    ...(ack.reason === undefined ? {} : { reason: ack.reason }),
    at: at.toISOString(),
  };
  const recorded = await store.acknowledgeHandover(
    ack.handoverId,
    { status: ack.status, at },
    {
      timeline: [
        {
          at: now,
          kind: 'acknowledged',
          message: sentence(
            `The Frisklivssentral ${STATUS_WORDS[ack.status]}${ack.reason === undefined ? '' : `: ${ack.reason}`}`,
          ),
          detail: { status: ack.status, at: at.toISOString(), ...(ack.by === undefined ? {} : { by: ack.by }) },
        },
      ],
      enqueue: [{ queue: 'handover-task', submissionId: ack.handoverId, payload: update, runAt: now }],
    },
    now,
  );
  if (!recorded) {
    throw conflict(`Handover ${ack.handoverId} has not been sent yet; answer it once its packets have arrived.`);
  }
}

/** Ends with a full stop unless the municipality's words already end a sentence. */
function sentence(text: string): string {
  return /[.!?]$/.test(text.trim()) ? text.trim() : `${text.trim()}.`;
}
