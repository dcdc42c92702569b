// POST /v1/discharges and /v1/handover-acknowledgements in-process, on a real SQLite store in memory.
import request from 'supertest';
import { DEFAULT_MAPPING_OPTIONS } from '../../../mappings/common.ts';
import type { DischargeInput } from '../../../mappings/inputs.ts';
import { EVENT_TYPES, TOPICS } from '../../../src/events/cloud-events.ts';
import type { OutgoingEvent } from '../../../src/events/event-bus.ts';
import { loadEventSchemas } from '../../../src/events/event-schemas.ts';
import { createEventValidator } from '../../../src/events/event-validator.ts';
import { createPatientKeyer } from '../../../src/events/patient-key.ts';
import { loadRecipientDirectory } from '../../../src/handover/recipient-directory.ts';
import { createApp } from '../../../src/intake/app.ts';
import { loadContracts } from '../../../src/intake/contracts.ts';
import { createLogger } from '../../../src/platform/logger.ts';
import { createMetrics } from '../../../src/platform/metrics.ts';
import { createSqliteStore } from '../../../src/store/sqlite-store.ts';
import type { Store } from '../../../src/store/store.ts';
import { NATIONAL_ID, variant } from './examples.ts';
import { acknowledgeHandover } from '../../../src/handover/acknowledgements.ts';
import { EXAMPLE_SENDER } from '../../../src/handover/edi/example-handover.ts';
import { parseRecipientDirectory } from '../../../src/handover/recipient-directory.ts';
import { ehrFactsSource } from '../../../src/handover/gather-facts.ts';
import { storedHandoverMessage } from '../../../src/handover/stored-message.ts';
import { cohortInEhr, createFakeEhr, type FakeEhr } from '../../support/fake-ehr.ts';
import { handoverCohort, HOSPITAL_CONTACT, recipientDirectoryYaml } from '../../support/handover-cohort.ts';
import { SCHEMAS, validateAgainstXsd } from '../../support/xmllint.ts';

const NOW = new Date('2026-05-04T12:00:00Z');
const eventValidator = createEventValidator(loadEventSchemas());

const DISCHARGE: DischargeInput = {
  dischargeId: 'D-2026-0001',
  source: 'clinic-a',
  patient: { nationalId: NATIONAL_ID, givenName: 'Kari', phone: '+47 400 00 009', email: 'kari@example.no' },
  dischargedAt: '2026-05-04T10:00:00+02:00',
  prescriptionId: 'RX-2026-0001',
  municipality: '9901',
  recipients: { trainingContact: { name: 'Ola Trener', phone: '+47 400 00 010' } },
  consent: { frisklivssentral: true, trainingContact: true },
  summary: 'Fullførte 24 av 24 økter.',
};

async function setup(options: { hospitalContactConfigured?: boolean; ehr?: FakeEhr; directory?: string } = {}) {
  const store: Store = createSqliteStore({ file: ':memory:' });
  const directory =
    options.directory === undefined
      ? loadRecipientDirectory('config/recipient-directory.yaml')
      : (() => {
          const parsed = parseRecipientDirectory(options.directory, 'directory.yaml');
          if (!parsed.ok) throw new Error(parsed.errors.join('; '));
          return parsed.directory;
        })();
  await store.migrate();
  const app = createApp({
    logger: createLogger({ level: 'silent', pretty: false }),
    readiness: [],
    readinessTimeoutMs: 1000,
    contracts: loadContracts(),
    mappingOptions: DEFAULT_MAPPING_OPTIONS,
    bodyLimitBytes: 256 * 1024,
    metrics: createMetrics({ defaultMetrics: false }),
    auth: { mode: 'off' },
    submissions: { store, patientKey: createPatientKeyer('unit-test-secret-unit-test-secret'), clock: () => NOW },
    handover: {
      store,
      patientKey: createPatientKeyer('unit-test-secret-unit-test-secret'),
      eventValidator,
      clock: () => NOW,
      directory,
      acknowledge: (ack, now) => acknowledgeHandover(store, ack, now),
      hospitalContactConfigured: options.hospitalContactConfigured ?? true,
      handoverMessage: (id) =>
        storedHandoverMessage(
          {
            store,
            facts: options.ehr && ehrFactsSource(options.ehr),
            directory,
            hospitalContact: HOSPITAL_CONTACT,
            sender: EXAMPLE_SENDER,
            clock: () => NOW,
          },
          id,
        ),
    },
  });
  return { app, store };
}

interface FieldProblem {
  field: string;
  rule: string;
}
const errorsOf = (response: request.Response): FieldProblem[] =>
  (response.body as { errors: FieldProblem[] }).errors.map(({ field, rule }) => ({ field, rule }));

describe('POST /v1/discharges', () => {
  it('stores the discharge with its discharge.requested event as the only job, and answers 202', async () => {
    const { app, store } = await setup();
    const response = await request(app).post('/v1/discharges').send(DISCHARGE);
    expect(response.status).toBe(202);
    const id = (response.body as { id: string }).id;
    const [job] = await store.claim('event-publish', 'test', { now: NOW, leaseMs: 1000, limit: 10 });
    const event = job?.payload as OutgoingEvent;
    expect(event.topic).toBe(TOPICS.handover);
    expect(eventValidator.validateEvent(event.value)).toEqual({ ok: true });
    expect(event.value).toMatchObject({
      type: EVENT_TYPES.dischargeRequested,
      subject: id,
      data: { submissionId: id, municipality: '9901', consent: { frisklivssentral: true, trainingContact: true } },
    });
    expect(event.key).toBe((event.value.data as { patientKey: string }).patientKey);
    expect((await store.backlog(NOW))['ehr-delivery'].count).toBe(0);
  });

  it('puts no national id, name, phone, e-mail or summary in the event', async () => {
    const { app, store } = await setup();
    await request(app).post('/v1/discharges').send(DISCHARGE).expect(202);
    const [job] = await store.claim('event-publish', 'test', { now: NOW, leaseMs: 1000, limit: 10 });
    const text = JSON.stringify(job?.payload);
    for (const secret of [NATIONAL_ID, 'Kari', 'Ola', '400 00', 'example.no', 'økter'])
      expect(text).not.toContain(secret);
  });

  it('honours the Idempotency-Key: the same body again is the same submission, another body is 409', async () => {
    const { app } = await setup();
    const first = await request(app).post('/v1/discharges').set('Idempotency-Key', 'k-1').send(DISCHARGE);
    const again = await request(app).post('/v1/discharges').set('Idempotency-Key', 'k-1').send(DISCHARGE);
    expect([first.status, again.status]).toEqual([202, 200]);
    expect((again.body as { id: string }).id).toBe((first.body as { id: string }).id);
    const other = await request(app)
      .post('/v1/discharges')
      .set('Idempotency-Key', 'k-1')
      .send(variant(DISCHARGE, { '/dischargeId': 'D-2026-0002' }));
    expect(other.status).toBe(409);
  });

  it('names each broken field and rule: national id, kommunenummer, HER-id, phone, e-mail, consent', async () => {
    const { app } = await setup();
    const response = await request(app)
      .post('/v1/discharges')
      .send(
        variant(DISCHARGE, {
          '/patient/nationalId': `${NATIONAL_ID.slice(0, 10)}${String((Number(NATIONAL_ID.at(-1)) + 1) % 10)}`,
          '/municipality': '301',
          '/recipients/frisklivssentral': { herId: '12ab' },
          '/patient/phone': 'ring meg',
          '/patient/email': 'kari',
          '/consent': { frisklivssentral: 'ja' },
        }),
      );
    expect(response.status).toBe(422);
    expect(response.type).toBe('application/problem+json');
    expect(errorsOf(response)).toEqual(
      expect.arrayContaining([
        { field: '/patient/nationalId', rule: 'national-id' },
        { field: '/municipality', rule: 'pattern' },
        { field: '/recipients/frisklivssentral/herId', rule: 'pattern' },
        { field: '/patient/phone', rule: 'pattern' },
        { field: '/patient/email', rule: 'pattern' },
        { field: '/consent/frisklivssentral', rule: 'type' },
        { field: '/consent/trainingContact', rule: 'required' },
      ]),
    );
    expect(JSON.stringify(response.body)).not.toContain(NATIONAL_ID.slice(0, 10));
  });

  it('refuses a municipality or HER-id the recipient directory does not know', async () => {
    const { app } = await setup();
    const unknownMunicipality = await request(app)
      .post('/v1/discharges')
      .send(variant(DISCHARGE, { '/municipality': '9999' }));
    expect(errorsOf(unknownMunicipality)).toEqual([{ field: '/municipality', rule: 'known-recipient' }]);
    const unknownHerId = await request(app)
      .post('/v1/discharges')
      .send(variant(DISCHARGE, { '/recipients/frisklivssentral': { herId: '12345' } }));
    expect(errorsOf(unknownHerId)).toEqual([{ field: '/recipients/frisklivssentral/herId', rule: 'known-recipient' }]);
  });

  it('asks for a hospital contact when none is configured, and for a way to reach a given one', async () => {
    const { app } = await setup({ hospitalContactConfigured: false });
    const response = await request(app)
      .post('/v1/discharges')
      .send(variant(DISCHARGE, { '/hospitalContact': { name: 'Sengepost 3' } }));
    expect(errorsOf(response)).toEqual([{ field: '/hospitalContact', rule: 'reachable' }]);
    const noContact = await request(app).post('/v1/discharges').send(DISCHARGE);
    expect(errorsOf(noContact)).toEqual([{ field: '/hospitalContact', rule: 'required-without-fallback' }]);
  });
});

describe('POST /v1/handover-acknowledgements', () => {
  it('is 404 for an unknown handover and 409 before its packets were sent', async () => {
    const { app } = await setup();
    const unknown = await request(app)
      .post('/v1/handover-acknowledgements')
      .send({ handoverId: '0b8e7c52-6f0e-4c6a-9d5e-2f1c3a4b5d6e', status: 'accepted' });
    expect(unknown.status).toBe(404);
    const id = ((await request(app).post('/v1/discharges').send(DISCHARGE)).body as { id: string }).id;
    const early = await request(app).post('/v1/handover-acknowledgements').send({ handoverId: id, status: 'accepted' });
    expect(early.status).toBe(409);
  });

  it('asks for a reason when the municipality rejects, pauses or fails a handover', async () => {
    const { app } = await setup();
    for (const status of ['rejected', 'on-hold', 'failed']) {
      const response = await request(app)
        .post('/v1/handover-acknowledgements')
        .send({ handoverId: '0b8e7c52-6f0e-4c6a-9d5e-2f1c3a4b5d6e', status });
      expect(errorsOf(response)).toEqual([{ field: '/reason', rule: 'required-for-status' }]);
    }
  });

  it('records an answer once sent: the timeline says so and a Task update is queued', async () => {
    const { app, store } = await setup();
    const id = ((await request(app).post('/v1/discharges').send(DISCHARGE)).body as { id: string }).id;
    await store.beginHandover(id, { enqueue: [{ queue: 'handover', submissionId: id, payload: {}, runAt: NOW }] }, NOW);
    const [job] = await store.claim('handover', 'w', { now: NOW, leaseMs: 1000, limit: 1 });
    if (job === undefined) throw new Error('no handover job');
    await store.complete(job, { handover: { packetsSentAt: NOW, taskReference: 'Task/1' } }, NOW);

    const response = await request(app)
      .post('/v1/handover-acknowledgements')
      .send({ handoverId: id, status: 'rejected', reason: 'Pasienten ønsker tilbud nærmere hjemmet.' });
    expect(response.status).toBe(202);
    const status = (await request(app).get(`/v1/submissions/${id}`)).body as {
      handover: { acknowledgement: { status: string }; task: string };
      timeline: { kind: string; message: string }[];
    };
    expect(status.handover).toMatchObject({ task: 'Task/1', acknowledgement: { status: 'rejected' } });
    expect(status.timeline.at(-1)).toMatchObject({
      kind: 'acknowledged',
      message: 'The Frisklivssentral rejected the handover: Pasienten ønsker tilbud nærmere hjemmet.',
    });
    expect((await store.backlog(NOW))['handover-task'].count).toBe(1);
  });
});

describe('GET /v1/discharges/{id}/handover-message', () => {
  it("answers the stored discharge's e-message as XML that validates against the KITH schemas, national id and all", async () => {
    const cohort = handoverCohort('typical', 'clinic-render');
    const held = cohortInEhr(cohort);
    const ehr = createFakeEhr([held.patient, ...held.prescription, ...held.stay]);
    const { app } = await setup({ ehr, directory: recipientDirectoryYaml({ channel: 'edi' }) });
    const accepted = await request(app).post('/v1/discharges').send(cohort.discharge);
    expect(accepted.status).toBe(202);
    const response = await request(app).get(`/v1/discharges/${(accepted.body as { id: string }).id}/handover-message`);
    expect(response.status).toBe(200);
    expect(response.type).toBe('application/xml');
    expect(validateAgainstXsd(response.text, SCHEMAS.handoverMessage)).toEqual({ valid: true });
    expect(response.text).toContain(cohort.discharge.patient.nationalId);
  });

  it('is 404 for an unknown discharge, and 503 naming what is missing when the EHR is not configured', async () => {
    const { app } = await setup();
    const unknown = await request(app).get('/v1/discharges/00000000-0000-4000-8000-000000000000/handover-message');
    expect(unknown.status).toBe(404);
    expect(unknown.type).toBe('application/problem+json');
    const accepted = await request(app).post('/v1/discharges').send(DISCHARGE);
    const response = await request(app).get(`/v1/discharges/${(accepted.body as { id: string }).id}/handover-message`);
    expect(response.status).toBe(503);
    expect((response.body as { detail: string }).detail).toContain('EHR_BASE_URL is not set');
  });

  it('is 409 when the patient did not consent to the Frisklivssentral', async () => {
    const { app } = await setup({ ehr: createFakeEhr() });
    const accepted = await request(app)
      .post('/v1/discharges')
      .send({ ...DISCHARGE, consent: { frisklivssentral: false, trainingContact: true } });
    const response = await request(app).get(`/v1/discharges/${(accepted.body as { id: string }).id}/handover-message`);
    expect(response.status).toBe(409);
    expect((response.body as { detail: string }).detail).toContain('did not consent');
  });
});
