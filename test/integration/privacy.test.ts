/**
 * Privacy over a full run on the real peers (PostgreSQL, Kafka, HAPI FHIR), every role in one
 * process: a patient's prescription, sessions and fitness tests, a discharge carrying the
 * patient's name, phone and e-mail (and the national id and phone again in the free-text
 * summary), and bad requests that quote personal data. Afterwards every log line (level debug),
 * every Kafka key and header on the hit-bridge topics, the whole /metrics text and every error
 * body the API returned are searched for the national ids, the name, the phone (as written and as
 * digits) and the e-mail: none may appear. The training-contact packet's value may hold the
 * consented contact details but never a national id; the Frisklivssentral's packet value is for
 * health personnel and is searched only for its key and headers.
 *
 * hit-bridge reaches the EHR the HelseID way (EHR_AUTH_MODE=helseid: Keycloak tokens bound by
 * DPoP, HAPI behind the DPoP check), and the same texts are searched for the client's private
 * key, every access token and DPoP proof it sent, and any client assertion: none may appear.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { EVENT_TYPES, TOPICS } from '../../src/events/cloud-events.ts';
import type { ConsumedEvent, Subscription } from '../../src/events/event-bus.ts';
import { createKafka } from '../../src/events/kafka-client.ts';
import { createKafkaEventBus } from '../../src/events/kafka-event-bus.ts';
import { createPatientKeyer } from '../../src/events/patient-key.ts';
import { loadConfig } from '../../src/platform/config.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { startService, type RunningService } from '../../src/service.ts';
import { loadProfiles, registerPeople } from '../support/fhir-server.ts';
import { readPdf } from '../support/pdf-text.ts';
import {
  COHORT_HPR,
  FRISKLIVSSENTRAL,
  handoverCohort,
  type HandoverCohort,
  HOSPITAL_CONTACT,
  recipientDirectoryYaml,
  TYPICAL_NATIONAL_ID,
} from '../support/handover-cohort.ts';
import { startHelseIdPeers, type HelseIdPeers, type HelseIdTestClient } from '../support/helseid-peers.ts';
import { peerEnv } from '../support/peers-env.ts';
import { scratchDatabases } from '../support/scratch-databases.ts';
import { silentLogger } from '../support/silent-logger.ts';
import { freshSyntheticId } from '../support/synthetic-ids.ts';
import { until } from '../support/until.ts';

const databases = scratchDatabases('privacy');

const PATIENT_KEY_SECRET = 'privacy-test-secret-0123456789abcdef';

/** The same id with its last check digit wrong: what a typo looks like. */
function withBadCheckDigit(id: string): string {
  return `${id.slice(0, 10)}${String((Number(id.slice(10)) + 1) % 10)}`;
}

const nationalId = freshSyntheticId();
const badNationalId = withBadCheckDigit(freshSyntheticId());
const GIVEN_NAME = 'Testperson Kari';
const PHONE = '+47 400 00 017';
const EMAIL = 'kari.test@example.no';

/** Every form of the personal data that must not show. */
const IDS = [nationalId, badNationalId];
const CONTACT = [GIVEN_NAME, PHONE, PHONE.replace(/\D/gu, ''), PHONE.replace(/\s/gu, ''), EMAIL];

/** The personal values found in a text (case-insensitive for name and e-mail). */
function found(text: string, values: readonly string[]): string[] {
  const lower = text.toLowerCase();
  return values.filter((value) => lower.includes(value.toLowerCase()));
}

interface Answer {
  readonly path: string;
  readonly status: number;
  readonly text: string;
}

async function send(base: string, method: string, path: string, body?: string): Promise<Answer> {
  const response = await fetch(`${base}${path}`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body }),
  });
  return { path, status: response.status, text: await response.text() };
}

describe('privacy over a full run on PostgreSQL + Kafka + HAPI', () => {
  const ehr = peerEnv('EHR_BASE_URL');
  const source = `pv-${randomBytes(4).toString('hex')}`;
  const cohort = JSON.parse(
    JSON.stringify(handoverCohort('typical', source)).replaceAll(TYPICAL_NATIONAL_ID, nationalId),
  ) as HandoverCohort;
  const discharge = {
    ...cohort.discharge,
    patient: { nationalId, givenName: GIVEN_NAME, phone: PHONE, email: EMAIL },
    summary: `${cohort.discharge.summary}\n\nFødselsnummer ${nationalId}, treffes på ${PHONE}.`,
  };
  const patientKey = createPatientKeyer(PATIENT_KEY_SECRET)(nationalId);
  const logLines: string[] = [];
  const records: ConsumedEvent[] = [];
  const answers: Answer[] = [];
  const statuses: Answer[] = [];
  const ids = new Set<string>();
  const bus = createKafkaEventBus({ kafka: createKafka(peerEnv('KAFKA_BROKERS'), silentLogger), logger: silentLogger });
  let subscription: Subscription | undefined;
  let service: RunningService | undefined;
  let dischargeId = '';
  let metrics = '';
  let helseId: HelseIdPeers | undefined;
  let client: HelseIdTestClient | undefined;
  /** Every access token and DPoP proof hit-bridge sent to the EHR. */
  const credentials: string[] = [];

  const ours = (record: ConsumedEvent): boolean => {
    const data = record.value.data as { submissionId?: string; handoverId?: string } | undefined;
    return (
      record.key === patientKey ||
      record.key.endsWith(`:${patientKey}`) ||
      ids.has(data?.submissionId ?? '') ||
      ids.has(data?.handoverId ?? '')
    );
  };
  const packets = () =>
    records.filter((r) => r.value.type === EVENT_TYPES.handoverPacket && ours(r) && r.topic === TOPICS.handoverPackets);
  const recipientOf = (record: ConsumedEvent) => (record.value.data as { recipient: string }).recipient;

  async function accepted(path: string, input: unknown): Promise<string> {
    const answer = await send(service?.url ?? '', 'POST', path, JSON.stringify(input));
    expect([path, answer.status]).toEqual([path, 202]);
    const { id } = JSON.parse(answer.text) as { id: string };
    ids.add(id);
    return id;
  }

  beforeAll(async () => {
    helseId = await startHelseIdPeers({
      keycloakUrl: peerEnv('KEYCLOAK_URL'),
      adminPassword: peerEnv('KEYCLOAK_ADMIN_PASSWORD'),
      ehrUpstream: ehr,
    });
    client = await helseId.registerClient();
    helseId.ehr.alter = (request) => {
      credentials.push(request.authorization?.replace(/^DPoP /, '') ?? '', ...request.dpop);
      return request;
    };
    await loadProfiles(ehr);
    await registerPeople(ehr, nationalId, Object.values(COHORT_HPR));
    const directory = join(mkdtempSync(join(tmpdir(), 'hit-bridge-privacy-')), 'recipients.yaml');
    writeFileSync(directory, recipientDirectoryYaml({ fhirEndpoint: ehr }));
    // Every hit-bridge topic from its start: a leak is found whoever's record it is in.
    subscription = await bus.subscribe({
      groupId: `privacy-test-${randomBytes(4).toString('hex')}`,
      topics: Object.values(TOPICS),
      fromBeginning: true,
      handler: (event) => {
        records.push(event);
        return Promise.resolve();
      },
    });
    const loaded = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'debug',
      AUTH_MODE: 'off',
      ROLES: 'api,ehr,relay,handover',
      RATE_LIMIT_PER_SECOND: '10000',
      RATE_LIMIT_BURST: '10000',
      DATABASE_URL: await databases.create(),
      PATIENT_KEY_SECRET,
      KAFKA_BROKERS: peerEnv('KAFKA_BROKERS'),
      ...helseId.env(client),
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
    const logger = createLogger({
      level: 'debug',
      pretty: false,
      destination: new Writable({
        write: (chunk: Buffer, _encoding, done) => {
          logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
          done();
        },
      }),
    });
    service = await startService(loaded.config, logger);
    const base = service.url;

    // Bad requests that quote personal data, so the error messages have it to hand.
    const bad = (patch: Record<string, unknown>) =>
      JSON.stringify({ ...discharge, patient: { ...discharge.patient, ...patch } });
    for (const [method, path, body] of [
      ['POST', '/v1/discharges', bad({ email: 'kari.test@@example' })],
      ['POST', '/v1/discharges', bad({ nationalId: badNationalId })],
      ['POST', '/v1/hit-sessions', JSON.stringify({ ...cohort.sessions[0], patient: { nationalId: badNationalId } })],
      ['POST', '/v1/discharges', bad({ phone: `${PHONE} eller ${EMAIL}` })],
      ['POST', '/v1/discharges', bad({ givenName: '' }).slice(0, -40)],
      ['GET', `/v1/submissions/${nationalId}`, undefined],
    ] as const) {
      const answer = await send(base, method, path, body);
      expect([path, answer.status >= 400 && answer.status < 500]).toEqual([path, true]);
      answers.push(answer);
    }

    const rx = await accepted('/v1/prescriptions', cohort.prescription);
    await until('the prescription delivered', async () => {
      const status = await send(base, 'GET', `/v1/submissions/${rx}`);
      return (JSON.parse(status.text) as { status: string }).status === 'delivered' ? true : undefined;
    });
    // A few sessions keep the shared HAPI's load (and this test's time) down; the tests are both.
    for (const session of cohort.sessions.slice(0, 6)) await accepted('/v1/hit-sessions', session);
    for (const test of cohort.fitnessTests) await accepted('/v1/fitness-tests', test);
    for (const id of ids) {
      await until(`submission ${id} settled`, async () => {
        const status = await send(base, 'GET', `/v1/submissions/${id}`);
        return (JSON.parse(status.text) as { status: string }).status === 'accepted' ? undefined : true;
      });
    }
    dischargeId = await accepted('/v1/discharges', discharge);
    await until('both packets published', () => Promise.resolve(packets().length >= 2 ? true : undefined), 120_000);
    // The relay publishes what is left of the run (records, discharge event) within a poll or two.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    metrics = (await send(base, 'GET', '/metrics')).text;
    for (const id of ids) statuses.push(await send(base, 'GET', `/v1/submissions/${id}`));
  }, 240_000);

  afterAll(async () => {
    await subscription?.stop();
    await bus.close();
    await service?.stop();
    await helseId?.stop();
    await databases.dropAll();
  });

  it('the run happened: log lines, this patient records on Kafka, both packets, metrics, refused requests', () => {
    expect(logLines.length).toBeGreaterThan(20);
    expect(records.filter(ours).length).toBeGreaterThanOrEqual(ids.size);
    expect(packets().map(recipientOf).sort()).toEqual(['frisklivssentral', 'training-contact']);
    expect(packets().every((p) => (p.value.data as { handoverId: string }).handoverId === dischargeId)).toBe(true);
    expect(metrics).toMatch(/^hitbridge_/m);
    expect(answers).toHaveLength(6);
  });

  it('no log line holds a national id, the name, the phone or the e-mail', () => {
    const leaking = logLines.filter((line) => found(line, [...IDS, ...CONTACT]).length > 0);
    expect(leaking).toEqual([]);
  });

  it('no error body the API returned holds a national id, the name, the phone or the e-mail', () => {
    for (const answer of answers) {
      expect([answer.path, answer.text, found(answer.text, [...IDS, ...CONTACT])]).toEqual([
        answer.path,
        answer.text,
        [],
      ]);
    }
    // They are problem documents that name the field, not empty refusals.
    expect(answers.filter((a) => a.text.includes('"detail"') || a.text.includes('"errors"')).length).toBeGreaterThan(3);
  });

  it('no submission status (its timeline, the EHR explanations in it) holds a national id, the name, the phone or the e-mail', () => {
    expect(statuses).toHaveLength(ids.size);
    const leaking = statuses.filter((answer) => found(answer.text, [...IDS, ...CONTACT]).length > 0);
    expect(leaking).toEqual([]);
  });

  it('no metric label or value holds a national id, the name, the phone or the e-mail', () => {
    expect(found(metrics, [...IDS, ...CONTACT])).toEqual([]);
  });

  it('no Kafka key or header on any hit-bridge topic holds a national id, the name, the phone or the e-mail', () => {
    // National ids are fresh: a search of every record on the topics can only find ours.
    const everywhere = records.filter((r) => found(`${r.key} ${JSON.stringify(r.headers)}`, IDS).length > 0);
    expect(everywhere.map((r) => `${r.topic} ${r.key}`)).toEqual([]);
    const leaking = records
      .filter(ours)
      .filter((r) => found(`${r.key} ${JSON.stringify(r.headers)}`, [...IDS, ...CONTACT]).length > 0);
    expect(leaking.map((r) => `${r.topic} ${r.key}`)).toEqual([]);
    expect(
      packets()
        .map((p) => p.key)
        .sort(),
    ).toEqual([`her:${FRISKLIVSSENTRAL.herId}`, `training-contact:${patientKey}`]);
  });

  it('no event value but the packets holds personal data', () => {
    const leaking = records
      .filter(ours)
      .filter((r) => r.value.type !== EVENT_TYPES.handoverPacket)
      .filter((r) => found(JSON.stringify(r.value), [...IDS, ...CONTACT]).length > 0);
    expect(leaking.map((r) => `${r.topic} ${String(r.value.type)}`)).toEqual([]);
  });

  it('the training-contact packet holds the consented contact details but no national id', () => {
    const packet = packets().find((p) => recipientOf(p) === 'training-contact');
    const text = JSON.stringify(packet?.value);
    expect(found(text, IDS)).toEqual([]);
    // The search would see them: the consented name is there.
    expect(found(text, [GIVEN_NAME])).toEqual([GIVEN_NAME]);
  });

  it("the training-contact packet's printable PDF holds the consented name but no national id either", async () => {
    const packet = packets().find((p) => recipientOf(p) === 'training-contact');
    const pdf = (packet?.value.data as { packet?: { pdf?: string } } | undefined)?.packet?.pdf;
    expect(pdf).toBeDefined();
    const reading = await readPdf(Buffer.from(pdf ?? '', 'base64'));
    expect(reading.pages).toBeGreaterThanOrEqual(1);
    expect(found(reading.text, IDS)).toEqual([]);
    expect(found(reading.text, [GIVEN_NAME])).toEqual([GIVEN_NAME]);
  });

  it('no private key, access token, client assertion or DPoP proof in any log line, error body, status, metric or Kafka record', () => {
    expect(credentials.length).toBeGreaterThan(2);
    const jwk = client?.jwk ?? {};
    // A JWT's signature and payload are each unique to it; the key's private members likewise.
    const secrets = [
      jwk.d,
      jwk.p,
      jwk.q,
      jwk.dp,
      jwk.dq,
      jwk.qi,
      ...credentials.flatMap((jwt) => jwt.split('.').slice(1)),
    ].filter((value): value is string => typeof value === 'string' && value.length > 20);
    const texts = [
      ...logLines,
      ...answers.map((answer) => answer.text),
      ...statuses.map((answer) => answer.text),
      metrics,
      ...records.map((record) => `${record.key} ${JSON.stringify(record.headers)} ${JSON.stringify(record.value)}`),
    ];
    const leaking = texts.filter((text) => secrets.some((secret) => text.includes(secret)));
    expect(leaking).toEqual([]);
    expect(texts.filter((text) => /client_assertion=|"d":"|BEGIN PRIVATE KEY/.test(text))).toEqual([]);
  });
});
