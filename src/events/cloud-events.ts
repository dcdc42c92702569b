/**
 * The events hit-bridge publishes: CloudEvents 1.0 in structured JSON mode (the whole event is
 * the Kafka record's value), one JSON Schema per type in contracts/events/, the topics in
 * contracts/asyncapi.yaml. Pure: no I/O, no clock (ids and times are passed in).
 *
 * What an event may carry: ids, the pseudonymous patient key, times, the EHR's resource
 * references and, for a failure, the EHR's explanation with national ids cut out. Never a
 * national id, a name or free text from the input: a consumer who needs the clinical content
 * fetches it from the EHR with the references.
 *
 * `source` (the CloudEvents attribute) names the hit-bridge deployment, not a process: it is the
 * same for every replica, so a re-publish of an event (after a crash, from another replica)
 * carries the same source + id and consumers can drop the duplicate. It defaults to
 * DEFAULT_EVENT_SOURCE; a hospital running more than one deployment gives each its own.
 */
import { createHash } from 'node:crypto';
import { redactNationalIds } from '../platform/redaction.ts';
import { uuidText } from '../platform/uuid.ts';
import type { OutgoingEvent } from './event-bus.ts';
import { RECORD_KINDS, recordOf, type RecordKind, type SubmissionKind } from '../kinds/kinds.ts';

export const EVENT_TYPES = {
  sessionRecorded: 'no.hitbridge.session.recorded.v1',
  fitnessTestRecorded: 'no.hitbridge.fitness-test.recorded.v1',
  prescriptionIssued: 'no.hitbridge.prescription.issued.v1',
  deliveryFailed: 'no.hitbridge.delivery.failed.v1',
  dischargeRequested: 'no.hitbridge.discharge.requested.v1',
  handoverPacket: 'no.hitbridge.handover.packet.v1',
  handoverOverdue: 'no.hitbridge.handover.overdue.v1',
  handoverRejected: 'no.hitbridge.handover.rejected.v1',
} as const;

export type EventType = (typeof EVENT_TYPES)[keyof typeof EVENT_TYPES];
export const ALL_EVENT_TYPES: readonly EventType[] = Object.values(EVENT_TYPES);

export const TOPICS = {
  /** session.recorded, fitness-test.recorded, prescription.issued; key: patient key. */
  records: 'hit-bridge.records.v1',
  /** delivery.failed; key: patient key. */
  deliveryFailures: 'hit-bridge.delivery-failures.v1',
  /** discharge.requested, handover.overdue, handover.rejected; key: patient key. The handover worker consumes it. */
  handover: 'hit-bridge.handover.v1',
  /** handover.packet; key: the recipient ("her:<HER-id>", "training-contact:<patient key>"). */
  handoverPackets: 'hit-bridge.handover-packets.v1',
} as const;

/** Where municipalities answer (the same payload as POST /v1/handover-acknowledgements); the default of HANDOVER_STATUS_TOPIC. */
export const DEFAULT_HANDOVER_STATUS_TOPIC = 'no.hitbridge.handover.status.v1';

export const DEFAULT_EVENT_SOURCE = '/hit-bridge';

/** Where the JSON Schema of each type is published; the file is contracts/events/<name>. */
const SCHEMA_BASE_URL = 'https://hit-bridge.no/schemas/events/';

/** `no.hitbridge.session.recorded.v1` → `session.recorded.v1.schema.json`. */
export function schemaFileName(type: EventType): string {
  return `${type.replace(/^no\.hitbridge\./, '')}.schema.json`;
}

export function dataschemaOf(type: EventType): string {
  return `${SCHEMA_BASE_URL}${schemaFileName(type)}`;
}

/** The "recorded"/"issued" event type of each record kind, from its descriptor. */
export const RECORD_EVENT_TYPE = Object.fromEntries(RECORD_KINDS.map((kind) => [kind, recordOf(kind).eventType])) as {
  readonly [K in RecordKind]: EventType;
};

export interface CloudEvent<T extends EventType = EventType, D = unknown> {
  readonly specversion: '1.0';
  readonly id: string;
  readonly source: string;
  readonly type: T;
  /** When it happened in hit-bridge (delivered, failed), ISO 8601 UTC. */
  readonly time: string;
  readonly datacontenttype: 'application/json';
  readonly dataschema: string;
  /** The submission id. */
  readonly subject: string;
  readonly data: D;
}

/** Which submission an event is about: no personal data beyond the pseudonymous key. */
export interface SubmissionRef<K extends string = SubmissionKind> {
  readonly submissionId: string;
  readonly kind: K;
  /** The sending system (the input's `source`). */
  readonly source: string;
  /** sessionId / testId / prescriptionId / dischargeId in the sending system. */
  readonly inputId: string;
  readonly patientKey: string;
}

interface RecordedData extends SubmissionRef<RecordKind> {
  /** When it happened at the clinic: the session's start, the test's time, the prescription's issue time. */
  readonly occurredAt: string;
  readonly ehr: {
    /** The EHR's FHIR base URL, when known, so a reference can be fetched without configuration. */
    readonly baseUrl?: string;
    /** What the EHR created or found, e.g. "Procedure/123" or "Procedure/123/_history/1". */
    readonly references: readonly string[];
  };
}

interface DeliveryFailedData extends SubmissionRef {
  /** The EHR's HTTP status; null when the failure came before the EHR answered (e.g. the record could not be mapped). */
  readonly httpStatus: number | null;
  /** Why, in the EHR's words (its OperationOutcome text), national ids removed. */
  readonly reason: string;
  /** Delivery attempts made, this one included. */
  readonly attempts: number;
}

export type RecordedEvent = CloudEvent<EventType, RecordedData>;
export type DeliveryFailedEvent = CloudEvent<typeof EVENT_TYPES.deliveryFailed, DeliveryFailedData>;
export type HitBridgeEvent = RecordedEvent | DeliveryFailedEvent;

/** A UUID namespace of our own for the name-based event ids (random, fixed forever). */
const EVENT_ID_NAMESPACE = '6f1d3c2a-8e55-4b7e-9a0c-3f2e1b9d4c71';

/**
 * A deterministic event id: a name-based UUID (version 5, RFC 9562) of the submission, the type
 * and — for an event that can happen more than once per submission, like delivery.failed after
 * a replay — what tells the occurrences apart (e.g. the delivery job's id). The same inputs give
 * the same id, so an event published again after a crash is recognisably the same event.
 */
export function eventId(submissionId: string, type: EventType, occurrence?: string): string {
  const name = occurrence === undefined ? `${submissionId}\n${type}` : `${submissionId}\n${type}\n${occurrence}`;
  const hash = createHash('sha1')
    .update(Buffer.from(EVENT_ID_NAMESPACE.replaceAll('-', ''), 'hex'))
    .update(name, 'utf8')
    .digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  return uuidText(bytes);
}

/** Longest reason kept; an EHR can answer with pages of OperationOutcome. */
export const MAX_REASON_LENGTH = 2000;

/** The EHR's explanation made safe for an event: no national id, no control characters, bounded. */
export function failureReason(text: string): string {
  // Control characters are cut before redaction, so "010180\u000012345" cannot slip through.
  // eslint-disable-next-line no-control-regex
  const flattened = text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '').replace(/\s+/g, ' ');
  const redacted = redactNationalIds(flattened).trim();
  const reason = redacted === '' ? 'The EHR gave no reason.' : redacted;
  if (reason.length <= MAX_REASON_LENGTH) return reason;
  // Cutting could leave the first digits of an id at the end; redact the cut text again.
  return redactNationalIds(`${reason.slice(0, MAX_REASON_LENGTH - 1)}…`);
}

export interface EventMeta {
  /** From eventId(): the same for every publish of this event. */
  readonly id: string;
  readonly time: Date;
  /** The CloudEvents source; DEFAULT_EVENT_SOURCE unless the deployment names itself. */
  readonly source?: string;
}

export function envelope<T extends EventType, D>(meta: EventMeta, type: T, subject: string, data: D): CloudEvent<T, D> {
  return {
    specversion: '1.0',
    id: meta.id,
    source: meta.source ?? DEFAULT_EVENT_SOURCE,
    type,
    time: meta.time.toISOString(),
    datacontenttype: 'application/json',
    dataschema: dataschemaOf(type),
    subject,
    data,
  };
}

export interface RecordedInput {
  readonly submission: SubmissionRef<RecordKind>;
  readonly occurredAt: string;
  readonly ehrBaseUrl?: string;
  readonly ehrReferences: readonly string[];
}

/** session.recorded / fitness-test.recorded / prescription.issued, by the submission's kind. */
export function buildRecordedEvent(meta: EventMeta, input: RecordedInput): RecordedEvent {
  const { submission } = input;
  const data: RecordedData = {
    submissionId: submission.submissionId,
    kind: submission.kind,
    source: submission.source,
    inputId: submission.inputId,
    patientKey: submission.patientKey,
    occurredAt: input.occurredAt,
    ehr: {
      ...(input.ehrBaseUrl === undefined ? {} : { baseUrl: input.ehrBaseUrl }),
      references: [...input.ehrReferences],
    },
  };
  return envelope(meta, RECORD_EVENT_TYPE[submission.kind], submission.submissionId, data);
}

export interface DeliveryFailedInput {
  readonly submission: SubmissionRef;
  readonly httpStatus: number | null;
  /** The EHR's OperationOutcome text (or our own explanation); redacted here. */
  readonly reason: string;
  readonly attempts: number;
}

export function buildDeliveryFailedEvent(meta: EventMeta, input: DeliveryFailedInput): DeliveryFailedEvent {
  const { submission } = input;
  const data: DeliveryFailedData = {
    submissionId: submission.submissionId,
    kind: submission.kind,
    source: submission.source,
    inputId: submission.inputId,
    patientKey: submission.patientKey,
    httpStatus: input.httpStatus,
    reason: failureReason(input.reason),
    attempts: input.attempts,
  };
  return envelope(meta, EVENT_TYPES.deliveryFailed, submission.submissionId, data);
}

/** The input's own time of the record, for `occurredAt`. */
export function occurredAtOf(kind: RecordKind, input: Readonly<Record<string, unknown>>): string {
  const value = input[recordOf(kind).occurredAtField];
  if (typeof value !== 'string') throw new Error(`the ${kind} input has no time to report as occurredAt`);
  return value;
}

export function topicOf(type: EventType): string {
  if (type === EVENT_TYPES.deliveryFailed) return TOPICS.deliveryFailures;
  if (type === EVENT_TYPES.handoverPacket) return TOPICS.handoverPackets;
  if (
    type === EVENT_TYPES.dischargeRequested ||
    type === EVENT_TYPES.handoverOverdue ||
    type === EVENT_TYPES.handoverRejected
  ) {
    return TOPICS.handover;
  }
  return TOPICS.records;
}

/** Content type of a structured-mode CloudEvent (CloudEvents Kafka protocol binding). */
export const STRUCTURED_CONTENT_TYPE = 'application/cloudevents+json; charset=UTF-8';

/** The record to publish: topic by type, key = the patient key, structured-mode content type. */
export function toOutgoingEvent(event: HitBridgeEvent): OutgoingEvent {
  return {
    topic: topicOf(event.type),
    key: event.data.patientKey,
    value: { ...event },
    headers: { 'content-type': STRUCTURED_CONTENT_TYPE },
  };
}
