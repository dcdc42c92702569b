// The event contracts in contracts/: every built event validates against its JSON Schema, broken
// ones do not (each rule that protects consumers or personal data is tried), and the schemas and
// contracts/asyncapi.yaml agree with the code about names, types and topics.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  ALL_EVENT_TYPES,
  DEFAULT_HANDOVER_STATUS_TOPIC,
  buildDeliveryFailedEvent,
  buildRecordedEvent,
  dataschemaOf,
  eventId,
  EVENT_TYPES,
  schemaFileName,
  TOPICS,
  topicOf,
  type HitBridgeEvent,
} from '../../../src/events/cloud-events.ts';
import type { RecordKind } from '../../../src/kinds/kinds.ts';
import { loadEventSchemas } from '../../../src/events/event-schemas.ts';
import { createEventValidator } from '../../../src/events/event-validator.ts';
import { createPatientKeyer } from '../../../src/events/patient-key.ts';
import { withCheckDigits } from '../domain/synthetic-national-ids.ts';

const NATIONAL_ID = withCheckDigits('018190123');
const PATIENT_KEY = createPatientKeyer('test-secret-0123456789abcdef')(NATIONAL_ID);
const SUBMISSION_ID = '7d3f4a56-1b2c-4d5e-8f90-a1b2c3d4e5f6';
const time = new Date('2026-11-23T10:15:00.000Z');

const schemas = loadEventSchemas();
const validator = createEventValidator(schemas);

function recorded(kind: RecordKind): HitBridgeEvent {
  const type = {
    'hit-sessions': EVENT_TYPES.sessionRecorded,
    'fitness-tests': EVENT_TYPES.fitnessTestRecorded,
    prescriptions: EVENT_TYPES.prescriptionIssued,
  }[kind];
  return buildRecordedEvent(
    { id: eventId(SUBMISSION_ID, type), time },
    {
      submission: { submissionId: SUBMISSION_ID, kind, source: 'clinic-a', inputId: 'rec-1', patientKey: PATIENT_KEY },
      occurredAt: '2026-11-23T09:00:00+01:00',
      ehrBaseUrl: 'https://ehr.example/fhir',
      ehrReferences: ['Procedure/123/_history/1', 'Observation/abc-1'],
    },
  );
}

function failed(): HitBridgeEvent {
  return buildDeliveryFailedEvent(
    { id: eventId(SUBMISSION_ID, EVENT_TYPES.deliveryFailed, 'job-1'), time, source: 'urn:hit-bridge:hospital-a' },
    {
      submission: {
        submissionId: SUBMISSION_ID,
        kind: 'hit-sessions',
        source: 'clinic-a',
        inputId: 'rec-1',
        patientKey: PATIENT_KEY,
      },
      httpStatus: 422,
      reason: `No Patient with identifier ${NATIONAL_ID}`,
      attempts: 2,
    },
  );
}

const built: readonly [string, HitBridgeEvent][] = [
  ['session.recorded', recorded('hit-sessions')],
  ['fitness-test.recorded', recorded('fitness-tests')],
  ['prescription.issued', recorded('prescriptions')],
  ['delivery.failed', failed()],
];

/** Marks a field to remove in `broken`. */
const REMOVE = Symbol('remove');

/** A deep copy with the field at `path` (e.g. "data.ehr.references") set to `value`, or removed. */
function broken(event: HitBridgeEvent, ...changes: [path: string, value: unknown][]): unknown {
  const copy = structuredClone(event) as unknown as Record<string, unknown>;
  for (const [path, value] of changes) {
    const parts = path.split('.');
    const last = parts.pop() ?? '';
    const parent = parts.reduce((node, part) => node[part] as Record<string, unknown>, copy);
    if (value === REMOVE) Reflect.deleteProperty(parent, last);
    else parent[last] = value;
  }
  return copy;
}

describe('event validator', () => {
  it.each(built)('accepts a built %s event', (_, event) => {
    expect(validator.validateEvent(event)).toEqual({ ok: true });
    expect(() => {
      validator.assertValidEvent(event);
    }).not.toThrow();
  });

  it('accepts a delivery failure without an HTTP status (null)', () => {
    expect(validator.validateEvent(broken(failed(), ['data.httpStatus', null]))).toEqual({ ok: true });
  });

  const session = recorded('hit-sessions');
  const failure = failed();
  it.each([
    ['an unknown type', broken(session, ['type', 'no.hitbridge.session.deleted.v1'])],
    ['no type at all', broken(session, ['type', REMOVE])],
    ['another specversion', broken(session, ['specversion', '0.3'])],
    ['a missing id', broken(session, ['id', REMOVE])],
    ['a time that is not a date-time', broken(session, ['time', 'yesterday'])],
    ['a dataschema of another type', broken(session, ['dataschema', dataschemaOf(EVENT_TYPES.deliveryFailed)])],
    ['a subject that is not a UUID', broken(session, ['subject', 'session-1'])],
    ['an extra envelope attribute', broken(session, ['nationalid', NATIONAL_ID])],
    ['a national id in the data', broken(session, ['data.nationalId', NATIONAL_ID])],
    ['a patient name in the data', broken(session, ['data.patient', { familyName: 'Nordmann' }])],
    ['a national id as the patient key', broken(session, ['data.patientKey', NATIONAL_ID])],
    ['a kind that does not match the type', broken(session, ['data.kind', 'prescriptions'])],
    ['no EHR references', broken(session, ['data.ehr.references', []])],
    ['an absolute URL as a reference', broken(session, ['data.ehr.references', ['http://x/Procedure/1']])],
    ['free text in the EHR part', broken(session, ['data.ehr.note', 'knee pain'])],
    ['an occurredAt that is not a date-time', broken(session, ['data.occurredAt', '23.11.2026'])],
    ['a reason holding a national id', broken(failure, ['data.reason', `No Patient ${NATIONAL_ID}`])],
    ['an empty reason', broken(failure, ['data.reason', ''])],
    ['an impossible HTTP status', broken(failure, ['data.httpStatus', 42])],
    ['zero attempts', broken(failure, ['data.attempts', 0])],
    ['a failure without attempts', broken(failure, ['data.attempts', REMOVE])],
  ])('rejects an event with %s', (_, event) => {
    const result = validator.validateEvent(event);
    expect(result.ok).toBe(false);
    expect(() => {
      validator.assertValidEvent(event);
    }).toThrow(/breaks its schema/);
  });

  it('names fields and rules in its problems, never the values', () => {
    const result = validator.validateEvent(
      broken(failure, ['data.reason', `No Patient ${NATIONAL_ID}`], ['data.nationalId', NATIONAL_ID]),
    );
    expect(result.ok).toBe(false);
    const problems = result.ok ? [] : result.problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        '/data has a field the schema does not allow: nationalId',
        '/data/reason holds something that looks like a national id',
      ]),
    );
    expect(problems.join(' ')).not.toContain(NATIONAL_ID);
  });
});

describe('event schemas (contracts/events/)', () => {
  type Node = Record<string, unknown>;
  const walk = (node: unknown, visit: (object: Node, path: string) => void, path = ''): void => {
    if (Array.isArray(node))
      node.forEach((item, i) => {
        walk(item, visit, `${path}/${i}`);
      });
    else if (typeof node === 'object' && node !== null) {
      visit(node as Node, path);
      for (const [key, value] of Object.entries(node)) walk(value, visit, `${path}/${key}`);
    }
  };

  it.each(ALL_EVENT_TYPES)('%s: $id is its dataschema, and it pins the type', (type) => {
    const schema = schemas[type] as Node & { properties: Record<string, Node> };
    expect(schema.$id).toBe(dataschemaOf(type));
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.properties.type).toMatchObject({ const: type });
    expect(schema.properties.dataschema).toMatchObject({ const: dataschemaOf(type) });
  });

  it.each(ALL_EVENT_TYPES)('%s: every object is closed and every property described in words', (type) => {
    walk(schemas[type], (object, path) => {
      // A FHIR Bundle and the training contact's plan are documents with their own schemas, not closed here.
      if (object.type === 'object' && !/\/packet\/properties\/(bundle|plan)$/.test(path))
        expect({ path, additionalProperties: object.additionalProperties }).toEqual({
          path,
          additionalProperties: false,
        });
      if (path.endsWith('/properties')) {
        for (const [name, property] of Object.entries(object)) {
          expect({ at: `${path}/${name}`, described: typeof (property as Node).description === 'string' }).toEqual({
            at: `${path}/${name}`,
            described: true,
          });
        }
      }
    });
  });

  it('the data fields the event types share are defined the same way in every schema', () => {
    const shared = ['submissionId', 'source', 'inputId', 'patientKey'];
    const first = schemas[EVENT_TYPES.sessionRecorded] as { properties: { data: { properties: Node } } };
    for (const type of ALL_EVENT_TYPES) {
      const schema = schemas[type] as { properties: { data: { properties: Node } } };
      for (const field of shared) {
        // The handover events name the discharge as handoverId and may carry no patient key.
        if (!(field in schema.properties.data.properties)) continue;
        expect(schema.properties.data.properties[field]).toEqual(first.properties.data.properties[field]);
      }
    }
  });
});

describe('contracts/asyncapi.yaml', () => {
  type Doc = {
    asyncapi: string;
    channels: Record<string, { address: string; messages: Record<string, { $ref: string }> }>;
    components: { messages: Record<string, { name: string; payload: { schema: { $ref: string } } }> };
  };
  const doc = parseYaml(readFileSync(join('contracts', 'asyncapi.yaml'), 'utf8')) as Doc;
  const resolve = (ref: string): unknown =>
    ref
      .replace(/^#\//, '')
      .split('/')
      .reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], doc);

  it('is AsyncAPI 3 with the three topics', () => {
    expect(doc.asyncapi).toMatch(/^3\./);
    expect(
      Object.values(doc.channels)
        .map((c) => c.address)
        .sort(),
    ).toEqual([...Object.values(TOPICS), DEFAULT_HANDOVER_STATUS_TOPIC].sort());
  });

  it('documents every event type on the topic the code publishes it to, with its schema file', () => {
    for (const type of ALL_EVENT_TYPES) {
      const channel = Object.values(doc.channels).find((c) => c.address === topicOf(type));
      const messages = Object.values(channel?.messages ?? {}).map((m) =>
        resolve(m.$ref),
      ) as Doc['components']['messages'][string][];
      const message = messages.find((m) => m.name === type);
      expect(message?.payload.schema.$ref).toBe(`events/${schemaFileName(type)}`);
      expect(JSON.parse(readFileSync(join('contracts', 'events', schemaFileName(type)), 'utf8'))).toMatchObject({
        $id: dataschemaOf(type),
      });
    }
  });

  it('has no internal reference that leads nowhere', () => {
    const refs: string[] = [];
    const collect = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(collect);
      else if (typeof node === 'object' && node !== null) {
        for (const [key, value] of Object.entries(node)) {
          if (key === '$ref' && typeof value === 'string' && value.startsWith('#')) refs.push(value);
          else collect(value);
        }
      }
    };
    collect(doc);
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of refs) expect({ ref, found: resolve(ref) !== undefined }).toEqual({ ref, found: true });
  });
});
