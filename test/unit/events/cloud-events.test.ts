import {
  buildDeliveryFailedEvent,
  buildRecordedEvent,
  DEFAULT_EVENT_SOURCE,
  eventId,
  EVENT_TYPES,
  failureReason,
  MAX_REASON_LENGTH,
  occurredAtOf,
  STRUCTURED_CONTENT_TYPE,
  toOutgoingEvent,
  TOPICS,
  type SubmissionRef,
} from '../../../src/events/cloud-events.ts';
import { REDACTED_NATIONAL_ID } from '../../../src/platform/redaction.ts';
import { withCheckDigits } from '../domain/synthetic-national-ids.ts';

const NATIONAL_ID = withCheckDigits('018190123');
const SUBMISSION_ID = '7d3f4a56-1b2c-4d5e-8f90-a1b2c3d4e5f6';
const PATIENT_KEY = 'Xy3_-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKL'.slice(0, 43);
const time = new Date('2026-11-23T10:15:00.000Z');

const session: SubmissionRef<'hit-sessions'> = {
  submissionId: SUBMISSION_ID,
  kind: 'hit-sessions',
  source: 'clinic-a-trainingslogg',
  inputId: 'session-42',
  patientKey: PATIENT_KEY,
};

describe('eventId', () => {
  it('is a version 5 UUID, the same for the same submission and type', () => {
    const id = eventId(SUBMISSION_ID, EVENT_TYPES.sessionRecorded);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(eventId(SUBMISSION_ID, EVENT_TYPES.sessionRecorded)).toBe(id);
  });

  it('differs by submission, type and occurrence', () => {
    const id = eventId(SUBMISSION_ID, EVENT_TYPES.deliveryFailed);
    expect(eventId('00000000-0000-4000-8000-000000000000', EVENT_TYPES.deliveryFailed)).not.toBe(id);
    expect(eventId(SUBMISSION_ID, EVENT_TYPES.sessionRecorded)).not.toBe(id);
    expect(eventId(SUBMISSION_ID, EVENT_TYPES.deliveryFailed, 'job-1')).not.toBe(id);
    expect(eventId(SUBMISSION_ID, EVENT_TYPES.deliveryFailed, 'job-1')).not.toBe(
      eventId(SUBMISSION_ID, EVENT_TYPES.deliveryFailed, 'job-2'),
    );
  });
});

describe('buildRecordedEvent', () => {
  it('builds a structured CloudEvent with the type of the kind and the EHR references', () => {
    const event = buildRecordedEvent(
      { id: eventId(SUBMISSION_ID, EVENT_TYPES.sessionRecorded), time },
      {
        submission: session,
        occurredAt: '2026-11-23T09:00:00+01:00',
        ehrBaseUrl: 'http://ehr.example/fhir',
        ehrReferences: ['Procedure/123/_history/1', 'Observation/124/_history/1'],
      },
    );
    expect(event).toEqual({
      specversion: '1.0',
      id: eventId(SUBMISSION_ID, EVENT_TYPES.sessionRecorded),
      source: DEFAULT_EVENT_SOURCE,
      type: 'no.hitbridge.session.recorded.v1',
      time: '2026-11-23T10:15:00.000Z',
      datacontenttype: 'application/json',
      dataschema: 'https://hit-bridge.no/schemas/events/session.recorded.v1.schema.json',
      subject: SUBMISSION_ID,
      data: {
        submissionId: SUBMISSION_ID,
        kind: 'hit-sessions',
        source: 'clinic-a-trainingslogg',
        inputId: 'session-42',
        patientKey: PATIENT_KEY,
        occurredAt: '2026-11-23T09:00:00+01:00',
        ehr: {
          baseUrl: 'http://ehr.example/fhir',
          references: ['Procedure/123/_history/1', 'Observation/124/_history/1'],
        },
      },
    });
  });

  it.each([
    ['fitness-tests', 'no.hitbridge.fitness-test.recorded.v1', 'fitness-test.recorded.v1'],
    ['prescriptions', 'no.hitbridge.prescription.issued.v1', 'prescription.issued.v1'],
  ] as const)('gives %s the type %s', (kind, type, name) => {
    const event = buildRecordedEvent(
      { id: 'x', time, source: 'urn:hit-bridge:hospital-a' },
      { submission: { ...session, kind }, occurredAt: '2026-11-23T09:00:00Z', ehrReferences: ['Observation/1'] },
    );
    expect(event.type).toBe(type);
    expect(event.source).toBe('urn:hit-bridge:hospital-a');
    expect(event.dataschema).toBe(`https://hit-bridge.no/schemas/events/${name}.schema.json`);
    expect(event.data.ehr).toEqual({ references: ['Observation/1'] });
  });
});

describe('occurredAtOf', () => {
  it("takes the session's start, the test's time and the prescription's issue time", () => {
    const input = { startedAt: 'S', performedAt: 'P', issuedAt: 'I' };
    expect(occurredAtOf('hit-sessions', input)).toBe('S');
    expect(occurredAtOf('fitness-tests', input)).toBe('P');
    expect(occurredAtOf('prescriptions', input)).toBe('I');
    expect(() => occurredAtOf('prescriptions', {})).toThrow(/no time/);
  });
});

describe('failureReason', () => {
  it('removes national ids, strips control characters, collapses space and bounds the length', () => {
    expect(
      failureReason(`Unknown\u0000 patient ${NATIONAL_ID.slice(0, 6)}\u0000${NATIONAL_ID.slice(6)}\n\nsee log`),
    ).toBe(`Unknown patient ${REDACTED_NATIONAL_ID} see log`);
    expect(failureReason('   ')).toBe('The EHR gave no reason.');
    const long = failureReason(`${'x'.repeat(MAX_REASON_LENGTH - 5)}${NATIONAL_ID}`);
    expect(long.length).toBeLessThanOrEqual(MAX_REASON_LENGTH);
    expect(long).not.toMatch(/\d{6}/);
  });
});

describe('buildDeliveryFailedEvent', () => {
  it('carries the status, attempts and the redacted reason, never the id the EHR echoed', () => {
    const event = buildDeliveryFailedEvent(
      { id: eventId(SUBMISSION_ID, EVENT_TYPES.deliveryFailed, 'job-7'), time },
      {
        submission: { ...session, kind: 'prescriptions' },
        httpStatus: 422,
        reason: `HAPI-1091: No Patient with identifier ${NATIONAL_ID}`,
        attempts: 3,
      },
    );
    expect(event.type).toBe('no.hitbridge.delivery.failed.v1');
    expect(event.data).toEqual({
      submissionId: SUBMISSION_ID,
      kind: 'prescriptions',
      source: 'clinic-a-trainingslogg',
      inputId: 'session-42',
      patientKey: PATIENT_KEY,
      httpStatus: 422,
      reason: `HAPI-1091: No Patient with identifier ${REDACTED_NATIONAL_ID}`,
      attempts: 3,
    });
    expect(JSON.stringify(event)).not.toContain(NATIONAL_ID);
  });
});

describe('toOutgoingEvent', () => {
  it('routes by type, keys by patient key and marks a structured CloudEvent', () => {
    const recorded = buildRecordedEvent(
      { id: 'a', time },
      { submission: session, occurredAt: '2026-11-23T09:00:00Z', ehrReferences: ['Procedure/1'] },
    );
    const failed = buildDeliveryFailedEvent(
      { id: 'b', time },
      { submission: session, httpStatus: null, reason: 'could not be mapped', attempts: 1 },
    );
    expect(toOutgoingEvent(recorded)).toEqual({
      topic: TOPICS.records,
      key: PATIENT_KEY,
      value: recorded,
      headers: { 'content-type': STRUCTURED_CONTENT_TYPE },
    });
    expect(toOutgoingEvent(failed).topic).toBe('hit-bridge.delivery-failures.v1');
    expect(toOutgoingEvent(failed).key).toBe(PATIENT_KEY);
  });
});
