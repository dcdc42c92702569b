/**
 * The handover's events (contracts/events/handover.packet, handover.overdue, handover.rejected; discharge.requested,
 * which intake writes, is in src/events/discharge-requested.ts): built here, pure, in the same CloudEvents envelope as the record events. Ids are deterministic
 * (eventId of the discharge's submission, the type and — for a packet — the recipient), so a
 * packet published again after a crash is recognisably the same packet.
 *
 * What each may carry: the discharge event only ids, the patient key, the municipality and the
 * consent flags (the national id, names and contacts stay in the store); a packet its recipient's
 * packet (see the asyncapi description of hit-bridge.handover-packets.v1); the overdue event ids,
 * the patient key and the Frisklivssentral's HER-id.
 */
import { envelope, eventId, EVENT_TYPES, type CloudEvent, type EventMeta } from '../events/cloud-events.ts';
import type { DischargeRef } from '../events/discharge-requested.ts';
import { redactNationalIds } from '../platform/redaction.ts';
import type { FrisklivssentralEntry, HandoverPacket } from './types.ts';

/** The Kafka key of a packet: the recipient, never a person's identity. */
export function recipientKey(
  packet: HandoverPacket,
  ref: DischargeRef,
  frisklivssentral: FrisklivssentralEntry,
): string {
  return packet.recipient === 'frisklivssentral'
    ? `her:${frisklivssentral.herId}`
    : `training-contact:${ref.patientKey}`;
}

export function buildHandoverPacketEvent(
  meta: Omit<EventMeta, 'id'>,
  ref: DischargeRef,
  packet: HandoverPacket,
  frisklivssentral: FrisklivssentralEntry,
  taskReference: string | undefined,
): CloudEvent<typeof EVENT_TYPES.handoverPacket> {
  const type = EVENT_TYPES.handoverPacket;
  const body =
    packet.recipient === 'frisklivssentral'
      ? { bundle: packet.bundle, html: packet.html }
      : {
          plan: packet.plan,
          html: packet.html,
          ...(packet.pdf === undefined ? {} : { pdf: Buffer.from(packet.pdf).toString('base64') }),
        };
  return envelope({ ...meta, id: eventId(ref.submissionId, type, packet.recipient) }, type, ref.submissionId, {
    handoverId: ref.submissionId,
    recipient: packet.recipient,
    recipientKey: recipientKey(packet, ref, frisklivssentral),
    source: ref.source,
    inputId: ref.dischargeId,
    frisklivssentral: { herId: frisklivssentral.herId, name: frisklivssentral.name },
    // The training contact gets no EHR reference (not health personnel).
    ...(packet.recipient === 'frisklivssentral' && taskReference !== undefined ? { taskReference } : {}),
    packet: body,
  });
}

export function buildHandoverOverdueEvent(
  time: Date,
  ref: DischargeRef,
  detail: {
    readonly herId: string;
    readonly taskReference?: string;
    readonly packetsSentAt: Date;
    readonly timeoutHours: number;
  },
): CloudEvent<typeof EVENT_TYPES.handoverOverdue> {
  const type = EVENT_TYPES.handoverOverdue;
  return envelope({ id: eventId(ref.submissionId, type), time }, type, ref.submissionId, {
    ...unansweredHandover(ref, detail),
    packetsSentAt: detail.packetsSentAt.toISOString(),
    timeoutHours: detail.timeoutHours,
  });
}

/** What an overdue and a rejected handover's events both say: which handover, to which centre, its Task. */
function unansweredHandover(ref: DischargeRef, detail: { readonly herId: string; readonly taskReference?: string }) {
  return {
    handoverId: ref.submissionId,
    source: ref.source,
    inputId: ref.dischargeId,
    patientKey: ref.patientKey,
    herId: detail.herId,
    ...(detail.taskReference === undefined ? {} : { taskReference: detail.taskReference }),
  };
}

export function buildHandoverRejectedEvent(
  time: Date,
  ref: DischargeRef,
  detail: {
    readonly herId: string;
    readonly taskReference?: string;
    readonly msgId: string;
    readonly messageId: string;
    readonly rejectedBy: 'receiver' | 'transport';
    readonly errors: readonly { readonly code: string; readonly description: string }[];
  },
): CloudEvent<typeof EVENT_TYPES.handoverRejected> {
  const type = EVENT_TYPES.handoverRejected;
  // One refusal per message: a redelivered handover carries the same MsgId, and so the same event id.
  return envelope({ id: eventId(ref.submissionId, type, detail.msgId), time }, type, ref.submissionId, {
    ...unansweredHandover(ref, detail),
    channel: 'edi',
    msgId: detail.msgId,
    messageId: detail.messageId,
    rejectedBy: detail.rejectedBy,
    errors: detail.errors.map((e) => ({ code: e.code, description: redactNationalIds(e.description) })),
  });
}
