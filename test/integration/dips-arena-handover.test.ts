/**
 * The discharge handover under EHR_PROFILE=dips-arena on the real peers: the DIPS-configured HAPI
 * (test/peers/hapi-dips.ts) as the EHR, Kafka, PostgreSQL. DIPS holds only the session
 * Procedures (no prescription, no fitness test, no link from a session to its prescription), so
 * the handover reads its facts from hit-bridge's store
 * (docs/adr/0028-handover-facts-from-the-store-under-dips-arena.md):
 *
 * - a discharge posted before its prescription waits for it, saying so on its timeline;
 * - a prescription, 24 sessions and two fitness tests go in through the API; the sessions reach
 *   DIPS as Procedures, the prescription and the tests do not;
 * - the discharge then yields the Frisklivssentral's and the training contact's packets on Kafka
 *   with the plan, attendance and results of the stay — the same plan the generic path builds
 *   from the same inputs — and the timeline says the facts came from hit-bridge's store;
 * - with a retention that erases the records before the discharge (RETENTION_DAYS=0), the
 *   discharge fails with a timeline entry saying what was erased, and no packet goes out.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bundle, Composition } from 'fhir/r4.js';
import { businessIdentifier, searchToken } from '../../mappings/common.ts';
import { EVENT_TYPES, TOPICS } from '../../src/events/cloud-events.ts';
import type { ConsumedEvent, Subscription } from '../../src/events/event-bus.ts';
import { loadEventSchemas } from '../../src/events/event-schemas.ts';
import { createEventValidator } from '../../src/events/event-validator.ts';
import { createKafka } from '../../src/events/kafka-client.ts';
import { createKafkaEventBus } from '../../src/events/kafka-event-bus.ts';
import { buildHandoverPackets } from '../../src/handover/packets.ts';
import type { TrainingContactPlan } from '../../src/handover/types.ts';
import { loadConfig } from '../../src/platform/config.ts';
import { startService, type RunningService } from '../../src/service.ts';
import { factsFor } from '../support/ehr-view.ts';
import { fhir, registerPeople } from '../support/fhir-server.ts';
import { withEpisode } from '../support/fixtures.ts';
import {
  COHORT_HPR,
  handoverCohort,
  HOSPITAL_CONTACT,
  recipientDirectoryYaml,
  TYPICAL_NATIONAL_ID,
  type HandoverCohort,
} from '../support/handover-cohort.ts';
import { peerEnv } from '../support/peers-env.ts';
import { scratchDatabases } from '../support/scratch-databases.ts';
import { silentLogger } from '../support/silent-logger.ts';
import { freshSyntheticId } from '../support/synthetic-ids.ts';
import { until } from '../support/until.ts';

const databases = scratchDatabases('dips_handover');
const validator = createEventValidator(loadEventSchemas());

interface StatusBody {
  status: string;
  timeline: { kind: string; message: string; detail?: Record<string, unknown> }[];
}

async function post(base: string, path: string, body: unknown): Promise<string> {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = (await response.json()) as { id: string };
  expect([path, response.status]).toEqual([path, 202]);
  return answer.id;
}

async function statusOf(base: string, id: string): Promise<StatusBody> {
  return (await (await fetch(`${base}/v1/submissions/${id}`)).json()) as StatusBody;
}

const waitFor = <T>(what: string, probe: () => Promise<T | undefined>, explain?: () => Promise<unknown>) =>
  until(what, probe, { timeoutMs: 120_000, ...(explain === undefined ? {} : { explain }) });

describe('discharge handover with EHR_PROFILE=dips-arena on the DIPS-configured HAPI + Kafka + PostgreSQL', () => {
  const dips = peerEnv('DIPS_EHR_BASE_URL');
  const source = `dh-${randomBytes(4).toString('hex')}`;
  const nationalId = freshSyntheticId();
  const cohort = JSON.parse(
    JSON.stringify(handoverCohort('typical', source)).replaceAll(TYPICAL_NATIONAL_ID, nationalId),
  ) as HandoverCohort;
  const bus = createKafkaEventBus({ kafka: createKafka(peerEnv('KAFKA_BROKERS'), silentLogger), logger: silentLogger });
  const events: ConsumedEvent[] = [];
  let subscription: Subscription | undefined;
  let service: RunningService;
  let dischargeId = '';

  beforeAll(async () => {
    // The referral Task names the patient and the prescriber by conditional reference: the EHR has them.
    await registerPeople(dips, nationalId, Object.values(COHORT_HPR));
    const dir = mkdtempSync(join(tmpdir(), 'hit-bridge-dips-handover-'));
    const directory = join(dir, 'recipients.yaml');
    writeFileSync(directory, recipientDirectoryYaml());
    subscription = await bus.subscribe({
      groupId: `dips-handover-test-${randomBytes(4).toString('hex')}`,
      topics: [TOPICS.handoverPackets],
      fromBeginning: true,
      handler: (event) => {
        if ((event.value.data as { handoverId?: string } | undefined)?.handoverId === dischargeId) events.push(event);
        return Promise.resolve();
      },
    });
    const loaded = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      AUTH_MODE: 'off',
      DATABASE_URL: await databases.create(),
      PATIENT_KEY_SECRET: 'dips-handover-test-secret-0123456789',
      KAFKA_BROKERS: peerEnv('KAFKA_BROKERS'),
      EHR_BASE_URL: dips,
      EHR_PROFILE: 'dips-arena',
      EHR_RETRY_INITIAL_MS: '200',
      EHR_RETRY_MAX_MS: '1000',
      RECIPIENT_DIRECTORY_PATH: directory,
      HOSPITAL_CONTACT_ORGANISATION: HOSPITAL_CONTACT.organisation,
      HOSPITAL_CONTACT_NAME: HOSPITAL_CONTACT.name,
      HOSPITAL_CONTACT_PHONE: HOSPITAL_CONTACT.phone ?? '',
      HANDOVER_CONSUMER_GROUP: `hit-bridge-handover-${source}`,
      HANDOVER_STATUS_TOPIC: `handover-status-${source}`,
    });
    if (!loaded.ok) throw new Error(loaded.errors.join('; '));
    service = await startService(loaded.config, silentLogger);
  }, 120_000);

  afterAll(async () => {
    await subscription?.stop();
    await bus.close();
    await service.stop();
    await databases.dropAll();
  });

  it('a discharge posted before its prescription waits for it, naming the store', async () => {
    dischargeId = await post(service.url, '/v1/discharges', cohort.discharge);
    const waiting = await waitFor(
      'the handover waiting',
      async () => {
        const body = await statusOf(service.url, dischargeId);
        return body.timeline.find((e) => e.kind === 'handover-attempt');
      },
      () => statusOf(service.url, dischargeId),
    );
    expect(waiting.message).toContain(
      `waiting for hit-bridge's store: hit-bridge has not accepted the prescription ${cohort.prescription.prescriptionId} from ${source} yet`,
    );
    const status = await statusOf(service.url, dischargeId);
    expect(status.status).toBe('accepted');
    expect(status.timeline.find((e) => e.kind === 'handover-started')?.message).toBe(
      "Handover started: gathering the facts from hit-bridge's store.",
    );
  }, 60_000);

  it('takes a prescription, 24 sessions and two fitness tests; only the sessions reach DIPS, as Procedures', async () => {
    const ids: string[] = [];
    for (const session of cohort.sessions) ids.push(await post(service.url, '/v1/hit-sessions', withEpisode(session)));
    for (const test of cohort.fitnessTests) ids.push(await post(service.url, '/v1/fitness-tests', withEpisode(test)));
    for (const id of ids) {
      const status = await waitFor(`submission ${id} settled`, async () => {
        const body = await statusOf(service.url, id);
        return body.status === 'accepted' ? undefined : body.status;
      });
      expect(status).toBe('delivered');
    }
    // The prescription last: the handover has waited all along, and now finds the whole stay.
    await post(service.url, '/v1/prescriptions', withEpisode(cohort.prescription));

    const procedures = await fhir<Bundle>(
      dips,
      'GET',
      `Procedure?identifier=${encodeURIComponent(`https://hit-bridge.no/fhir/sid/${source}|`)}&_count=100&_summary=count`,
    );
    expect(procedures.body.total).toBe(24);
    const prescriptionInDips = await fhir<Bundle>(
      dips,
      'GET',
      `ServiceRequest?identifier=${encodeURIComponent(searchToken(businessIdentifier(source, 'prescription', cohort.prescription.prescriptionId)))}&_summary=count`,
    );
    expect(prescriptionInDips.body.total).toBe(0);
  }, 300_000);

  it("yields both packets on Kafka with the stay's plan, attendance and results, read from hit-bridge's store", async () => {
    await waitFor(
      'two packets',
      () => Promise.resolve(events.length >= 2 ? true : undefined),
      () => statusOf(service.url, dischargeId),
    );
    const byRecipient = (recipient: string) =>
      events.find(
        (e) =>
          e.value.type === EVENT_TYPES.handoverPacket &&
          (e.value.data as { recipient: string }).recipient === recipient,
      );
    const frisklivssentral = byRecipient('frisklivssentral');
    const trainingContact = byRecipient('training-contact');
    for (const packet of [frisklivssentral, trainingContact]) {
      expect(packet?.topic).toBe(TOPICS.handoverPackets);
      expect(validator.validateEvent(packet?.value)).toEqual({ ok: true });
    }

    const bundle = (frisklivssentral?.value.data as { packet: { bundle: Bundle } }).packet.bundle;
    const sections = JSON.stringify((bundle.entry?.[0]?.resource as Composition).section ?? []);
    // VO2max 42.3 → 48.7 mL/kg/min from the two fitness tests; 24 of 24 sessions done.
    expect(sections).toContain('42,3 → 48,7 mL/kg/min (+15,1 %)');
    expect(sections).toContain('24 av 24 foreskrevne treningsøkter');
    expect(
      bundle.entry?.some(
        (e) =>
          e.resource?.resourceType === 'ServiceRequest' &&
          e.resource.identifier?.[0]?.value === `prescription/${cohort.prescription.prescriptionId}`,
      ),
    ).toBe(true);

    // The volunteer's plan is the one the generic path makes from the same inputs, but for when it was made.
    const plan = (trainingContact?.value.data as { packet: { plan: TrainingContactPlan } }).packet.plan;
    const expected = buildHandoverPackets({ ...factsFor(cohort), generatedAt: plan.generatedAt }).trainingContact;
    if (!('plan' in expected)) throw new Error('the cohort names a training contact');
    expect(plan).toEqual(expected.plan);
    expect(JSON.stringify(trainingContact?.value)).not.toContain(nationalId);

    const status = await waitFor('the handover delivered', async () => {
      const body = await statusOf(service.url, dischargeId);
      return body.status === 'delivered' ? body : undefined;
    });
    const note = status.timeline.find((e) => e.detail?.factsFrom === 'store');
    expect(note?.message).toMatch(/^Facts read from hit-bridge's store \(EHR_PROFILE=dips-arena/);
    expect(note?.message).toContain('24 training session(s), 2 fitness test(s)');
    expect(status.timeline.map((e) => e.kind)).toEqual(
      expect.arrayContaining([
        'handover-started',
        'handover-attempt',
        'note',
        'task-created',
        'packet-sent',
        'delivered',
      ]),
    );
  }, 180_000);
});

describe('a dips-arena discharge after retention erased its stay (RETENTION_DAYS=0)', () => {
  const dips = peerEnv('DIPS_EHR_BASE_URL');
  const source = `dr-${randomBytes(4).toString('hex')}`;
  const nationalId = freshSyntheticId();
  const cohort = JSON.parse(
    JSON.stringify(handoverCohort('typical', source)).replaceAll(TYPICAL_NATIONAL_ID, nationalId),
  ) as HandoverCohort;
  let service: RunningService;

  beforeAll(async () => {
    await registerPeople(dips, nationalId, Object.values(COHORT_HPR));
    const directory = join(mkdtempSync(join(tmpdir(), 'hit-bridge-dips-retention-')), 'recipients.yaml');
    writeFileSync(directory, recipientDirectoryYaml());
    const loaded = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      AUTH_MODE: 'off',
      DATABASE_URL: await databases.create(),
      PATIENT_KEY_SECRET: 'dips-retention-test-secret-0123456789',
      KAFKA_BROKERS: peerEnv('KAFKA_BROKERS'),
      EHR_BASE_URL: dips,
      EHR_PROFILE: 'dips-arena',
      EHR_RETRY_INITIAL_MS: '200',
      EHR_RETRY_MAX_MS: '1000',
      RETENTION_DAYS: '0',
      RETENTION_SWEEP_INTERVAL_MS: '1000',
      RECIPIENT_DIRECTORY_PATH: directory,
      HOSPITAL_CONTACT_ORGANISATION: HOSPITAL_CONTACT.organisation,
      HOSPITAL_CONTACT_NAME: HOSPITAL_CONTACT.name,
      HOSPITAL_CONTACT_PHONE: HOSPITAL_CONTACT.phone ?? '',
      HANDOVER_CONSUMER_GROUP: `hit-bridge-handover-${source}`,
      HANDOVER_STATUS_TOPIC: `handover-status-${source}`,
    });
    if (!loaded.ok) throw new Error(loaded.errors.join('; '));
    service = await startService(loaded.config, silentLogger);
  }, 120_000);

  afterAll(async () => {
    await service.stop();
    await databases.dropAll();
  });

  it('fails the handover saying retention erased the prescription, instead of sending a plan from nothing', async () => {
    const rx = await post(service.url, '/v1/prescriptions', withEpisode(cohort.prescription));
    await waitFor('the prescription erased', async () =>
      (await statusOf(service.url, rx)).timeline.some((e) => e.kind === 'erased') ? true : undefined,
    );
    const discharge = await post(service.url, '/v1/discharges', cohort.discharge);
    const status = await waitFor(
      'the handover ended',
      async () => {
        const body = await statusOf(service.url, discharge);
        return body.status === 'accepted' ? undefined : body;
      },
      () => statusOf(service.url, discharge),
    );
    expect(status.status).toBe('failed');
    expect(status.timeline.find((e) => e.kind === 'failed')?.message).toMatch(
      new RegExp(
        `^No handover: retention erased the content of the prescription ${cohort.prescription.prescriptionId} from ${source} of this stay on \\d{4}-\\d{2}-\\d{2}, before the discharge; under EHR_PROFILE=dips-arena hit-bridge's store is the only copy`,
      ),
    );
    expect(status.timeline.some((e) => e.kind === 'packet-sent')).toBe(false);
  }, 180_000);
});
