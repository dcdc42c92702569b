/**
 * The discharge handover end to end on the real peers (PostgreSQL, Kafka, HAPI FHIR): a patient's
 * prescription, 24 sessions and two fitness tests go through the API into HAPI; the discharge then
 * yields both packets on Kafka, the Frisklivssentral's document validates in HAPI and carries the
 * right numbers, the document reaches the Frisklivssentral's FHIR endpoint (here: HAPI too), and
 * the referral Task is in HAPI as requested; an acknowledgement moves it to accepted. A second
 * patient declines the training contact: only the Frisklivssentral's packet goes, the status says
 * why, and — left unanswered — the handover raises handover.overdue once, and still counts as
 * awaiting acknowledgement on /metrics.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bundle, Composition, OperationOutcome, Task } from 'fhir/r4.js';
import { searchToken } from '../../mappings/common.ts';
import { EVENT_TYPES, TOPICS } from '../../src/events/cloud-events.ts';
import type { ConsumedEvent, Subscription } from '../../src/events/event-bus.ts';
import { loadEventSchemas } from '../../src/events/event-schemas.ts';
import { createEventValidator } from '../../src/events/event-validator.ts';
import { createKafka } from '../../src/events/kafka-client.ts';
import { createKafkaEventBus } from '../../src/events/kafka-event-bus.ts';
import { referralIdentifiers } from '../../src/handover/referral.ts';
import { loadConfig } from '../../src/platform/config.ts';
import { startService, type RunningService } from '../../src/service.ts';
import { errorsOf, fhir, loadProfiles, registerPeople } from '../support/fhir-server.ts';
import {
  COHORT_HPR,
  type CohortVariant,
  FRISKLIVSSENTRAL,
  handoverCohort,
  type HandoverCohort,
  HOSPITAL_CONTACT,
  recipientDirectoryYaml,
  SECOND_NATIONAL_ID,
  TYPICAL_NATIONAL_ID,
} from '../support/handover-cohort.ts';
import { peerEnv } from '../support/peers-env.ts';
import { scratchDatabases } from '../support/scratch-databases.ts';
import { silentLogger } from '../support/silent-logger.ts';
import { freshSyntheticId } from '../support/synthetic-ids.ts';
import { until } from '../support/until.ts';

const databases = scratchDatabases('handover');

const validator = createEventValidator(loadEventSchemas());
const ACK_TIMEOUT_MS = 15_000;

/** The cohort for one variant, with its own patient and source. */
function cohortFor(variant: CohortVariant, source: string): HandoverCohort & { nationalId: string } {
  const nationalId = freshSyntheticId();
  const text = JSON.stringify(handoverCohort(variant, source))
    .replaceAll(TYPICAL_NATIONAL_ID, nationalId)
    .replaceAll(SECOND_NATIONAL_ID, nationalId);
  return { ...(JSON.parse(text) as HandoverCohort), nationalId };
}

interface StatusBody {
  status: string;
  handover?: { task?: string; acknowledgement?: { status: string }; overdueAt?: string; packetsSentAt?: string };
  timeline: { kind: string; message: string; detail?: Record<string, unknown> }[];
}

async function post(base: string, path: string, body: unknown, expected = 202): Promise<string> {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = (await response.json()) as { id: string };
  expect([path, response.status]).toEqual([path, expected]);
  return answer.id;
}

async function statusOf(base: string, id: string): Promise<StatusBody> {
  return (await (await fetch(`${base}/v1/submissions/${id}`)).json()) as StatusBody;
}

const waitFor = <T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 90_000,
  explain?: () => Promise<unknown>,
) => until(what, probe, { timeoutMs, ...(explain === undefined ? {} : { explain }) });

describe('discharge handover on PostgreSQL + Kafka + HAPI', () => {
  const ehr = peerEnv('EHR_BASE_URL');
  const source = `ho-${randomBytes(4).toString('hex')}`;
  const typical = cohortFor('typical', source);
  const declined = cohortFor('training-contact-declined', source);
  const bus = createKafkaEventBus({ kafka: createKafka(peerEnv('KAFKA_BROKERS'), silentLogger), logger: silentLogger });
  const events: ConsumedEvent[] = [];
  let subscription: Subscription | undefined;
  let service: RunningService;
  let typicalId = '';
  let declinedId = '';

  beforeAll(async () => {
    await loadProfiles(ehr);
    for (const cohort of [typical, declined]) {
      await registerPeople(ehr, cohort.nationalId, Object.values(COHORT_HPR));
    }
    const dir = mkdtempSync(join(tmpdir(), 'hit-bridge-handover-'));
    const directory = join(dir, 'recipients.yaml');
    // The Frisklivssentral's own FHIR endpoint is played by HAPI: it takes document Bundles.
    writeFileSync(directory, recipientDirectoryYaml({ fhirEndpoint: ehr }));
    subscription = await bus.subscribe({
      groupId: `handover-test-${randomBytes(4).toString('hex')}`,
      topics: [TOPICS.handoverPackets, TOPICS.handover],
      fromBeginning: true,
      handler: (event) => {
        const data = event.value.data as { handoverId?: string; submissionId?: string } | undefined;
        if ([typicalId, declinedId].includes(data?.handoverId ?? data?.submissionId ?? '')) events.push(event);
        return Promise.resolve();
      },
    });
    const env: Record<string, string> = {
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      AUTH_MODE: 'off',
      DATABASE_URL: await databases.create(),
      PATIENT_KEY_SECRET: 'handover-test-secret-0123456789abcdef',
      KAFKA_BROKERS: peerEnv('KAFKA_BROKERS'),
      EHR_BASE_URL: ehr,
      EHR_RETRY_INITIAL_MS: '200',
      EHR_RETRY_MAX_MS: '1000',
      RECIPIENT_DIRECTORY_PATH: directory,
      HOSPITAL_CONTACT_ORGANISATION: HOSPITAL_CONTACT.organisation,
      HOSPITAL_CONTACT_NAME: HOSPITAL_CONTACT.name,
      HOSPITAL_CONTACT_PHONE: HOSPITAL_CONTACT.phone ?? '',
      HANDOVER_ACK_TIMEOUT_MS: String(ACK_TIMEOUT_MS),
      HANDOVER_CONSUMER_GROUP: `hit-bridge-handover-${source}`,
      HANDOVER_STATUS_TOPIC: `handover-status-${source}`,
    };
    const loaded = loadConfig(env);
    if (!loaded.ok) throw new Error(loaded.errors.join('; '));
    service = await startService(loaded.config, silentLogger);

    // The stay, through the API into HAPI: prescription first (sessions point at it), then the rest.
    for (const cohort of [typical, declined]) {
      const rx = await post(service.url, '/v1/prescriptions', cohort.prescription);
      await waitFor('the prescription delivered', async () =>
        (await statusOf(service.url, rx)).status === 'delivered' ? true : undefined,
      );
    }
    const ids: string[] = [];
    // The second patient's stay matters only for consent: a few sessions keep the shared HAPI's load down.
    for (const [cohort, sessions] of [
      [typical, typical.sessions],
      [declined, declined.sessions.slice(0, 3)],
    ] as const) {
      for (const session of sessions) ids.push(await post(service.url, '/v1/hit-sessions', session));
      for (const test of cohort.fitnessTests) ids.push(await post(service.url, '/v1/fitness-tests', test));
    }
    for (const id of ids) {
      const status = await waitFor(`submission ${id} settled`, async () => {
        const body = await statusOf(service.url, id);
        return body.status === 'accepted' ? undefined : body.status;
      });
      expect(status).toBe('delivered');
    }
  }, 300_000);

  afterAll(async () => {
    await subscription?.stop();
    await bus.close();
    await service.stop();
    await databases.dropAll();
  });

  const packetsOf = (id: string) =>
    events.filter(
      (e) => e.value.type === EVENT_TYPES.handoverPacket && (e.value.data as { handoverId: string }).handoverId === id,
    );

  it('posts a stay of 24 sessions and two fitness tests, and the discharge yields both packets on Kafka', async () => {
    expect(typical.sessions).toHaveLength(24);
    expect(typical.fitnessTests).toHaveLength(2);
    typicalId = await post(service.url, '/v1/discharges', typical.discharge);
    await waitFor(
      'two packets',
      () => Promise.resolve(packetsOf(typicalId).length >= 2 ? true : undefined),
      90_000,
      () => statusOf(service.url, typicalId),
    );
    const packets = packetsOf(typicalId);
    expect(packets.map((e) => (e.value.data as { recipient: string }).recipient).sort()).toEqual([
      'frisklivssentral',
      'training-contact',
    ]);
    for (const packet of packets) {
      expect(validator.validateEvent(packet.value)).toEqual({ ok: true });
      expect(packet.topic).toBe(TOPICS.handoverPackets);
    }
    const keys = packets.map((e) => e.key).sort();
    expect(keys[0]).toBe(`her:${FRISKLIVSSENTRAL.herId}`);
    expect(keys[1]).toMatch(/^training-contact:[A-Za-z0-9_-]{43}$/);
    const trainingContact = JSON.stringify(
      packets.find((e) => (e.value.data as { recipient: string }).recipient === 'training-contact')?.value,
    );
    expect(trainingContact).not.toContain(typical.nationalId);
    expect(trainingContact).not.toContain('Task/');
  }, 120_000);

  it("the Frisklivssentral's document validates in HAPI and its numbers are the fixture's", async () => {
    const packet = packetsOf(typicalId).find(
      (e) => (e.value.data as { recipient: string }).recipient === 'frisklivssentral',
    );
    const bundle = (packet?.value.data as { packet: { bundle: Bundle } }).packet.bundle;
    const validation = await fhir<OperationOutcome>(ehr, 'POST', 'Bundle/$validate', bundle);
    expect(errorsOf(validation.body)).toEqual([]);

    const composition = bundle.entry?.[0]?.resource as Composition;
    const text = JSON.stringify(composition.section ?? []);
    // VO2max 42.3 → 48.7 mL/kg/min: (48.7 − 42.3) / 42.3 = 15.13 % → "+15,1 %".
    expect(text).toContain('42,3 → 48,7 mL/kg/min (+15,1 %)');
    // 8 weeks × 3 sessions, none missed: 24 of 24, i.e. 3 a week as prescribed.
    expect(text).toContain('24 av 24 foreskrevne treningsøkter');
  });

  it('sends the document to the Frisklivssentral endpoint once, and records the referral Task as requested', async () => {
    const identifier = (
      packetsOf(typicalId).find((e) => (e.value.data as { recipient: string }).recipient === 'frisklivssentral')?.value
        .data as { packet: { bundle: Bundle } }
    ).packet.bundle.identifier;
    const stored = await fhir<Bundle>(
      ehr,
      'GET',
      `Bundle?identifier=${encodeURIComponent(searchToken(identifier ?? {}))}`,
    );
    expect(stored.body.total ?? stored.body.entry?.length).toBe(1);

    const status = await waitFor('the Task on the status', async () => {
      const body = await statusOf(service.url, typicalId);
      return body.handover?.task ? body : undefined;
    });
    const taskId = referralIdentifiers(source, typical.discharge.dischargeId).task;
    const tasks = await fhir<Bundle>(ehr, 'GET', `Task?identifier=${encodeURIComponent(searchToken(taskId))}`);
    expect(tasks.body.entry).toHaveLength(1);
    const task = tasks.body.entry?.[0]?.resource as Task;
    expect(`Task/${task.id ?? ''}`).toBe(status.handover?.task);
    expect(task).toMatchObject({
      status: 'requested',
      intent: 'order',
      code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' }] },
      owner: { identifier: { system: 'urn:oid:2.16.578.1.12.4.1.2', value: FRISKLIVSSENTRAL.herId } },
    });
    const focus = await fhir<{ code: { coding: { code: string }[] } }>(ehr, 'GET', task.focus?.reference ?? '');
    expect(focus.body.code.coding[0]?.code).toBe('390893007');
    expect(status.timeline.map((e) => e.kind)).toEqual(
      expect.arrayContaining(['handover-started', 'task-created', 'packet-sent', 'delivered']),
    );
    // Delivered once the handover is made: from then on retention may erase the discharge's personal data.
    expect(status.status).toBe('delivered');
  });

  it('an accepted acknowledgement moves the Task to accepted', async () => {
    await post(service.url, '/v1/handover-acknowledgements', {
      handoverId: typicalId,
      status: 'accepted',
      by: 'Frisklivssentralen',
    });
    const taskId = referralIdentifiers(source, typical.discharge.dischargeId).task;
    const task = await waitFor('the Task accepted', async () => {
      const found = await fhir<Bundle>(ehr, 'GET', `Task?identifier=${encodeURIComponent(searchToken(taskId))}`);
      const resource = found.body.entry?.[0]?.resource as Task | undefined;
      return resource?.status === 'accepted' ? resource : undefined;
    });
    expect(task.businessStatus?.text).toBe('mottatt og akseptert');
    const status = await statusOf(service.url, typicalId);
    expect(status.handover?.acknowledgement?.status).toBe('accepted');
  });

  it('without consent for the training contact sends only the Frisklivssentral packet and says why', async () => {
    declinedId = await post(service.url, '/v1/discharges', declined.discharge);
    const status = await waitFor('the declined handover sent', async () => {
      const body = await statusOf(service.url, declinedId);
      return body.handover?.packetsSentAt === undefined ? undefined : body;
    });
    await waitFor('its packet', () => Promise.resolve(packetsOf(declinedId).length >= 1 ? true : undefined));
    // The relay publishes both of a handover's packets in one batch: a second would be here by now.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(packetsOf(declinedId).map((e) => (e.value.data as { recipient: string }).recipient)).toEqual([
      'frisklivssentral',
    ]);
    expect(status.timeline).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          kind: 'packet-omitted',
          message: 'No packet for the training contact: the patient did not consent.',
        }),
      ]),
    );
  }, 120_000);

  it('an unanswered handover raises handover.overdue once, and counts it', async () => {
    const overdue = await waitFor(
      'the overdue event',
      () =>
        Promise.resolve(
          events.find(
            (e) =>
              e.value.type === EVENT_TYPES.handoverOverdue &&
              (e.value.data as { handoverId: string }).handoverId === declinedId,
          ),
        ),
      ACK_TIMEOUT_MS + 60_000,
    );
    expect(validator.validateEvent(overdue.value)).toEqual({ ok: true });
    expect((await statusOf(service.url, declinedId)).handover?.overdueAt).toBeDefined();
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(/^hitbridge_handovers_overdue_total 1$/m);
    // Overdue is still unanswered: it awaits its acknowledgement; the acknowledged one does not.
    expect(metrics).toMatch(/^hitbridge_handovers_awaiting_acknowledgement 1$/m);
    // The group's lag on Kafka is read from the broker: a number, and 0 once the worker has caught
    // up with the shared topic (other suites' discharges included, which it skips).
    await waitFor(
      'the handover consumer lag at 0',
      async () =>
        /^hitbridge_handover_consumer_lag_records 0$/m.test(await (await fetch(`${service.url}/metrics`)).text())
          ? true
          : undefined,
      60_000,
      async () =>
        (await (await fetch(`${service.url}/metrics`)).text())
          .split('\n')
          .filter((line) => line.startsWith('hitbridge_handover')),
    );
    // The acknowledged one is never overdue.
    expect(
      events
        .filter((e) => e.value.type === EVENT_TYPES.handoverOverdue)
        .map((e) => (e.value.data as { handoverId: string }).handoverId),
    ).toEqual([declinedId]);
  }, 120_000);
});
