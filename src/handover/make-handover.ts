/**
 * One handover job, in four steps, each safe to repeat (the job is retried whole):
 *
 * 1. gather — the facts the packets need (facts-source.ts: the EHR, or hit-bridge's store under
 *    dips-arena), waiting while the source lacks them;
 * 2. build — the packets, pure (packets.ts);
 * 3. send — the referral ServiceRequest + Task in the EHR (conditional creates), then the
 *    Frisklivssentral's packet through its channel (channels/): a Dialogmelding over Norsk
 *    Helsenett, a document to its FHIR endpoint, or the event stream alone;
 * 4. record — in one transaction: the packet events, the Task, the timeline, the discharge
 *    delivered, and the receipt to follow when the channel awaits one.
 *
 * A transient failure at any step retries the job later with the EHR's retry policy, until its
 * horizon; a permanent one fails the handover with the peer's own words.
 */
import type { DischargeInput } from '../../mappings/inputs.ts';
import { TOPICS } from '../events/cloud-events.ts';
import { handoverOutgoing } from '../events/discharge-requested.ts';
import { addPersonalValues, type Logger } from '../platform/logger.ts';
import { Problem } from '../platform/problem.ts';
import type { Job, NewJob, Submission, TimelineEntry } from '../store/store.ts';
import type { PendingReceipt } from './channels/channel.ts';
import type { HandoverWorkerDeps } from './handover-deps.ts';
import { buildHandoverPacketEvent, recipientKey } from './handover-events.ts';
import { failHandover, portFailure, recipientOf, refOf, waitOrFail } from './job-outcomes.ts';
import { buildHandoverPackets } from './packets.ts';
import { buildReferralBundle } from './referral.ts';
import { trainingContactPdf } from './training-contact-packet.ts';
import { firstReceiptPoll } from './receipts.ts';
import type { FrisklivssentralEntry, HandoverFacts, HandoverPacket, HandoverPackets } from './types.ts';

export async function runHandover(deps: HandoverWorkerDeps, job: Job, log: Logger): Promise<void> {
  const submission = await deps.store.getSubmission(job.submissionId);
  const slog = log.child({ submissionId: job.submissionId, attempt: job.attempts });
  if (submission?.kind !== 'discharges') {
    slog.error('handover job for no discharge; dropping it');
    await deps.store.fail(job, {}, deps.clock());
    return;
  }
  // Its name, phone, e-mail and national id are scrubbed from every line logged while it is handled:
  // a peer's words (a failure, a diagnostic) may echo them.
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

  // 1. gather
  const gathered = await deps.facts.gather({
    discharge: input,
    frisklivssentral,
    hospitalContact: deps.hospitalContact,
    generatedAt: deps.clock().toISOString(),
  });
  if (gathered.kind === 'not-yet') {
    await waitOrFail(deps, job, submission, `waiting for ${deps.facts.origin}: ${gathered.reason}`, undefined, slog);
    return;
  }
  if (gathered.kind === 'unavailable') {
    await failHandover(deps, job, `No handover: ${gathered.reason}.`);
    return;
  }
  if (gathered.kind === 'failed') {
    await portFailure(deps, job, submission, 'searching the EHR', gathered.failure, slog);
    return;
  }

  // 2. build
  let packets: HandoverPackets;
  try {
    packets = buildHandoverPackets(gathered.facts);
  } catch (error) {
    if (error instanceof Problem && !error.retriable) {
      await failHandover(deps, job, `The packets cannot be made: ${error.detail ?? error.message}`);
      return;
    }
    throw error;
  }

  // The training contact's printable plan, for the patient to carry: only where there is a
  // packet at all, so only with the patient's consent.
  const trainingContact = packets.trainingContact;
  if (!('omitted' in trainingContact)) {
    packets = {
      ...packets,
      trainingContact: { ...trainingContact, pdf: await trainingContactPdf(trainingContact.plan) },
    };
  }

  // 3. send
  const sent = await sendToFrisklivssentral(deps, job, submission, gathered.facts, packets, slog);
  if (sent === undefined) return;

  // 4. record
  await record(
    deps,
    job,
    submission,
    frisklivssentral,
    packets,
    { ...sent, timeline: [...gathered.timeline, ...sent.timeline] },
    slog,
  );
}

interface Sent {
  readonly timeline: readonly TimelineEntry[];
  readonly taskReference: string | undefined;
  readonly pending: PendingReceipt | undefined;
}

/** The referral in the EHR, then the packet through the centre's channel; undefined when the job ended here. */
async function sendToFrisklivssentral(
  deps: HandoverWorkerDeps,
  job: Job,
  submission: Submission,
  facts: HandoverFacts,
  packets: HandoverPackets,
  slog: Logger,
): Promise<Sent | undefined> {
  const fls = packets.frisklivssentral;
  // Without consent for the Frisklivssentral there is no referral and nothing to send it.
  if (!('bundle' in fls)) return { timeline: [], taskReference: undefined, pending: undefined };
  const { discharge, frisklivssentral } = facts;
  const timeline: TimelineEntry[] = [];

  const referral = await deps.ehr.transaction(
    buildReferralBundle({ discharge, frisklivssentral, prescription: facts.prescription }),
  );
  if (!referral.ok) {
    await portFailure(deps, job, submission, 'creating the referral in the EHR', referral.failure, slog);
    return undefined;
  }
  const taskReference = withoutHistory(referral.result.entries[1]?.location);
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

  const channel = deps.channels[frisklivssentral.channel];
  if (channel === undefined) {
    // Said at start-up too: the directory names a channel this installation has not configured.
    timeline.push({
      at: deps.clock(),
      kind: 'note',
      message: `Not sent through channel ${frisklivssentral.channel}: hit-bridge is not configured for it (see the README's channel section). The packet is on the event stream only.`,
      detail: { channel: frisklivssentral.channel },
    });
    return { timeline, taskReference, pending: undefined };
  }
  const result = await channel.send({ facts, packet: fls, recipient: frisklivssentral });
  switch (result.kind) {
    case 'retry':
      await portFailure(deps, job, submission, result.step, result.failure, slog);
      return undefined;
    case 'refused':
      if (result.failsHandover) {
        await failHandover(deps, job, result.message, taskFailed(submission, taskReference, result.message, deps));
        return undefined;
      }
      timeline.push({ at: deps.clock(), kind: 'note', message: result.message, detail: result.detail });
      return { timeline, taskReference, pending: undefined };
    case 'sent':
      if (result.message !== undefined) {
        timeline.push({ at: deps.clock(), kind: 'packet-sent', message: result.message, detail: result.detail });
      }
      return { timeline, taskReference, pending: result.pending };
  }
}

/** The referral Task follows a handover that failed after it was created. */
function taskFailed(
  submission: Submission,
  taskReference: string | undefined,
  reason: string,
  deps: HandoverWorkerDeps,
): NewJob[] {
  if (taskReference === undefined) return [];
  const now = deps.clock();
  return [
    {
      queue: 'handover-task',
      submissionId: submission.id,
      payload: { status: 'failed', reason, at: now.toISOString() },
      runAt: now,
    },
  ];
}

async function record(
  deps: HandoverWorkerDeps,
  job: Job,
  submission: Submission,
  frisklivssentral: FrisklivssentralEntry,
  packets: HandoverPackets,
  sent: Sent,
  slog: Logger,
): Promise<void> {
  const now = deps.clock();
  const ref = refOf(submission);
  const timeline: TimelineEntry[] = [...sent.timeline];
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
    const event = buildHandoverPacketEvent({ time: now }, ref, packet, frisklivssentral, sent.taskReference);
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
  if (sent.pending !== undefined) {
    enqueue.push({
      queue: 'handover-receipt',
      submissionId: submission.id,
      payload: sent.pending,
      runAt: firstReceiptPoll(deps, now),
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
      // (names, phone, e-mail) once the packets are published. Receipts and answers still update
      // the Task, by the submission's source and input id.
      status: 'delivered',
      timeline,
      enqueue,
      handover: { packetsSentAt: now, taskReference: sent.taskReference },
    },
    now,
  );
  if (done) {
    deps.metrics.submissionDelivered('discharges');
    slog.info({ packets: enqueue.length, task: sent.taskReference }, 'handover sent');
  } else slog.warn('handover done, but the lease had passed to another worker');
}

const OMITTED_WORDS: Readonly<Record<string, string>> = {
  'no-consent': 'the patient did not consent',
  'no-training-contact': 'the discharge names no training contact',
};

function withoutHistory(location: string | undefined): string | undefined {
  if (location === undefined) return undefined;
  const match = /^(?:.*\/)?([A-Za-z]+\/[^/]+)(?:\/_history\/[^/]+)?$/.exec(location);
  return match?.[1] ?? location;
}
