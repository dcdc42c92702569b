/**
 * discharge.requested (contracts/events/discharge.requested.v1.schema.json): the event intake
 * writes with a discharge and the handover worker starts from, so it lives below both. Pure; the
 * id is deterministic (the discharge's submission id and the type). It carries only ids, the
 * patient key, the municipality and the consent flags: the national id, names and contacts stay
 * in the store.
 */
import type { DischargeInput } from '../../mappings/inputs.ts';
import { envelope, eventId, EVENT_TYPES, STRUCTURED_CONTENT_TYPE, topicOf, type CloudEvent } from './cloud-events.ts';
import type { OutgoingEvent } from './event-bus.ts';

export interface DischargeRef {
  /** The discharge's submission id: also the handover's id. */
  readonly submissionId: string;
  readonly source: string;
  readonly dischargeId: string;
  readonly patientKey: string;
}

export interface DischargeRequestedData {
  readonly submissionId: string;
  readonly kind: 'discharges';
  readonly source: string;
  readonly inputId: string;
  readonly patientKey: string;
  readonly dischargedAt: string;
  readonly prescriptionId: string;
  readonly municipality: string;
  readonly consent: { readonly frisklivssentral: boolean; readonly trainingContact: boolean };
  readonly trainingContactNamed: boolean;
}

export function buildDischargeRequestedEvent(
  ref: DischargeRef,
  input: DischargeInput,
  time: Date,
): CloudEvent<typeof EVENT_TYPES.dischargeRequested, DischargeRequestedData> {
  const type = EVENT_TYPES.dischargeRequested;
  return envelope({ id: eventId(ref.submissionId, type), time }, type, ref.submissionId, {
    submissionId: ref.submissionId,
    kind: 'discharges',
    source: ref.source,
    inputId: ref.dischargeId,
    patientKey: ref.patientKey,
    dischargedAt: input.dischargedAt,
    prescriptionId: input.prescriptionId,
    municipality: input.municipality,
    consent: { frisklivssentral: input.consent.frisklivssentral, trainingContact: input.consent.trainingContact },
    trainingContactNamed: input.recipients.trainingContact !== undefined,
  });
}

/** The record to publish: topic by type; key the patient key, or for a packet its recipient. */
export function handoverOutgoing(event: CloudEvent, key: string): OutgoingEvent {
  return {
    topic: topicOf(event.type),
    key,
    value: { ...event },
    headers: { 'content-type': STRUCTURED_CONTENT_TYPE },
  };
}
