/**
 * The Frisklivssentral's handover over Norwegian e-messaging, end to end on the real peers:
 * PostgreSQL, Kafka, HAPI FHIR (the EHR), Keycloak (HelseID's stand-in, DPoP-bound tokens for the
 * message service's audience) and the EDI 2.0 peer (NHN's OpenAPI, DPoP, the KITH schemas, then
 * an AppRec 1.1). hit-bridge runs as a child process, as in production, so it can be SIGKILLed.
 *
 * - a discharge → exactly one schema-valid Dialogmelding with a PDF of ≥ 1 page at the peer; its
 *   AppRec OK moves the referral Task in HAPI to `received` and shows on the timeline;
 * - the receiver refuses (AppRec Avvist) → the handover failed with the AppRec's code and words,
 *   a handover.rejected event, the Task `failed`;
 * - the peer down 60 s → every handover sent once it is back;
 * - hit-bridge SIGKILLed while the peer holds its answer → sent again after the restart, and the
 *   receiver never holds two different MsgIds for one handover;
 * - `hit-bridge handover render --discharge <id>` prints the stored discharge's message.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Task } from 'fhir/r4.js';
import { searchToken } from '../../mappings/common.ts';
import { EVENT_TYPES, TOPICS } from '../../src/events/cloud-events.ts';
import type { ConsumedEvent, Subscription } from '../../src/events/event-bus.ts';
import { createKafka } from '../../src/events/kafka-client.ts';
import { createKafkaEventBus } from '../../src/events/kafka-event-bus.ts';
import { EXAMPLE_SENDER } from '../../src/handover/edi/example-handover.ts';
import { referralIdentifiers } from '../../src/handover/referral.ts';
import { startEdiPeer, type EdiPeer } from '../peers/edi-peer.ts';
import { fhir, loadProfiles, registerPeople } from '../support/fhir-server.ts';
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
import { EDI_API, startHelseIdPeers, type HelseIdPeers } from '../support/helseid-peers.ts';
import { readPdf } from '../support/pdf-text.ts';
import { peerEnv } from '../support/peers-env.ts';
import { scratchDatabases } from '../support/scratch-databases.ts';
import { spawnService, type ServiceProcess } from '../support/service-process.ts';
import { silentLogger } from '../support/silent-logger.ts';
import { freshSyntheticId } from '../support/synthetic-ids.ts';
import { SCHEMAS, validateAgainstXsd } from '../support/xmllint.ts';
import { until } from '../support/until.ts';

const databases = scratchDatabases('handover_edi');

/** One patient's stay under its own source, so every scenario has its own discharge and Task. */
function cohortFor(variant: CohortVariant, source: string): HandoverCohort & { nationalId: string } {
  const nationalId = freshSyntheticId();
  const text = JSON.stringify(handoverCohort(variant, source))
    .replaceAll(TYPICAL_NATIONAL_ID, nationalId)
    .replaceAll(SECOND_NATIONAL_ID, nationalId);
  return { ...(JSON.parse(text) as HandoverCohort), nationalId };
}

interface StatusBody {
  status: string;
  timeline: { kind: string; message: string; detail?: Record<string, unknown> }[];
}

/** Set per test: what to show when a wait times out (the discharge's timeline, the peer's refusals). */
let explain: () => Promise<unknown> = () => Promise.resolve('');

const waitFor = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000) =>
  until(what, probe, { timeoutMs, explain });

describe('the handover as a Dialogmelding through EDI 2.0, closed by the AppRec', () => {
  const ehr = peerEnv('EHR_BASE_URL');
  const run = `edi-${randomBytes(3).toString('hex')}`;
  const cohorts = {
    ok: cohortFor('typical', `${run}-ok`),
    avvist: cohortFor('typical', `${run}-avvist`),
    down1: cohortFor('typical', `${run}-down1`),
    down2: cohortFor('typical', `${run}-down2`),
    killed: cohortFor('typical', `${run}-killed`),
  };
  const bus = createKafkaEventBus({ kafka: createKafka(peerEnv('KAFKA_BROKERS'), silentLogger), logger: silentLogger });
  const events: ConsumedEvent[] = [];
  let subscription: Subscription | undefined;
  let helseId: HelseIdPeers;
  let peer: EdiPeer;
  let service: ServiceProcess | undefined;
  let env: Record<string, string> = {};
  let base = '';
  const ids: Partial<Record<keyof typeof cohorts, string>> = {};

  async function startHitBridge(): Promise<void> {
    service = spawnService(process.execPath, ['src/main.ts'], env);
    const listening = await service.waitForLine((line) => line.msg === 'listening', 60_000);
    base = `http://127.0.0.1:${String(listening.port)}`;
  }

  async function post(path: string, body: unknown): Promise<string> {
    const response = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect([path, response.status]).toEqual([path, 202]);
    return ((await response.json()) as { id: string }).id;
  }

  const statusOf = async (id: string): Promise<StatusBody> =>
    (await (await fetch(`${base}/v1/submissions/${id}`)).json()) as StatusBody;

  const settled = (id: string) =>
    waitFor(`submission ${id} settled`, async () => {
      const body = await statusOf(id);
      return body.status === 'accepted' ? undefined : body.status;
    });

  const messagesFor = (cohort: HandoverCohort) =>
    peer.received().filter((m) => m.xml.includes(`<Id>${cohort.discharge.patient.nationalId}</Id>`));

  async function taskOf(cohort: HandoverCohort): Promise<Task | undefined> {
    const identifier = referralIdentifiers(cohort.discharge.source, cohort.discharge.dischargeId).task;
    const bundle = (
      await fhir<{ entry?: { resource: Task }[] }>(
        ehr,
        'GET',
        `Task?identifier=${encodeURIComponent(searchToken(identifier))}`,
      )
    ).body;
    return bundle.entry?.[0]?.resource;
  }

  beforeAll(async () => {
    await loadProfiles(ehr);
    helseId = await startHelseIdPeers({
      keycloakUrl: peerEnv('KEYCLOAK_URL'),
      adminPassword: peerEnv('KEYCLOAK_ADMIN_PASSWORD'),
      ehrUpstream: ehr,
    });
    const client = await helseId.registerClient(300, EDI_API);
    peer = await startEdiPeer({
      issuer: helseId.issuer,
      jwks: `${helseId.issuer}/protocol/openid-connect/certs`,
      receivers: [FRISKLIVSSENTRAL.herId],
      acknowledgeAfterMs: 100,
      appRecAfterMs: 300,
    });
    const dir = mkdtempSync(join(tmpdir(), 'hit-bridge-edi-'));
    const directory = join(dir, 'recipients.yaml');
    writeFileSync(directory, recipientDirectoryYaml({ channel: 'edi' }));
    env = {
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      AUTH_MODE: 'off',
      DATABASE_URL: await databases.create(),
      PATIENT_KEY_SECRET: 'handover-edi-test-secret-0123456789abcdef',
      KAFKA_BROKERS: peerEnv('KAFKA_BROKERS'),
      EHR_BASE_URL: ehr,
      EHR_RETRY_INITIAL_MS: '200',
      EHR_RETRY_MAX_MS: '2000',
      EHR_BREAKER_COOLDOWN_MS: '500',
      HANDOVER_LEASE_MS: '4000',
      RECIPIENT_DIRECTORY_PATH: directory,
      HOSPITAL_CONTACT_ORGANISATION: HOSPITAL_CONTACT.organisation,
      HOSPITAL_CONTACT_NAME: HOSPITAL_CONTACT.name,
      HOSPITAL_CONTACT_PHONE: HOSPITAL_CONTACT.phone ?? '',
      HANDOVER_CONSUMER_GROUP: `hit-bridge-handover-${run}`,
      HANDOVER_STATUS_TOPIC: `handover-status-${run}`,
      HOSPITAL_NAME: EXAMPLE_SENDER.organisation.name,
      HOSPITAL_HER_ID: EXAMPLE_SENDER.organisation.herId,
      HOSPITAL_ORGANISATION_NUMBER: EXAMPLE_SENDER.organisation.organisationNumber,
      HOSPITAL_DEPARTMENT_NAME: EXAMPLE_SENDER.department.name,
      HOSPITAL_DEPARTMENT_HER_ID: EXAMPLE_SENDER.department.herId,
      EDI_BASE_URL: peer.url,
      EDI_RECEIPT_POLL_MS: '300',
      EDI_RECEIPT_POLL_MAX_MS: '1000',
      HELSEID_ISSUER: helseId.issuer,
      HELSEID_CLIENT_ID: client.clientId,
      HELSEID_PRIVATE_KEY: JSON.stringify(client.jwk),
      HELSEID_SCOPES: EDI_API.scope,
    };
    subscription = await bus.subscribe({
      groupId: `handover-edi-test-${run}`,
      topics: [TOPICS.handover],
      fromBeginning: true,
      handler: (event) => {
        if (event.value.type === EVENT_TYPES.handoverRejected) events.push(event);
        return Promise.resolve();
      },
    });
    await startHitBridge();

    // The stays, through the API into HAPI: each prescription first, then a few sessions and the tests.
    const submitted: string[] = [];
    for (const cohort of Object.values(cohorts)) {
      await registerPeople(ehr, cohort.nationalId, Object.values(COHORT_HPR));
      const rx = await post('/v1/prescriptions', cohort.prescription);
      expect(await settled(rx)).toBe('delivered');
      for (const session of cohort.sessions.slice(0, 4)) submitted.push(await post('/v1/hit-sessions', session));
      for (const test of cohort.fitnessTests) submitted.push(await post('/v1/fitness-tests', test));
    }
    for (const id of submitted) expect(await settled(id)).toBe('delivered');
  }, 600_000);

  afterAll(async () => {
    service?.signal('SIGTERM');
    await service?.exited;
    await subscription?.stop();
    await bus.close();
    await peer.stop();
    await helseId.stop();
    await databases.dropAll();
  });

  it('sends exactly one schema-valid Dialogmelding with its PDF, and the AppRec OK moves the Task to received', async () => {
    ids.ok = await post('/v1/discharges', cohorts.ok.discharge);
    explain = async () => ({
      status: await statusOf(ids.ok ?? ''),
      refusals: peer.refusals,
      stderr: service?.stderr(),
    });
    const task = await waitFor('the Task received', async () => {
      const found = await taskOf(cohorts.ok);
      return found?.status === 'received' ? found : undefined;
    });
    expect(task.owner?.identifier?.value).toBe(FRISKLIVSSENTRAL.herId);
    const messages = messagesFor(cohorts.ok);
    expect(messages).toHaveLength(1);
    const [message] = messages;
    expect(message?.schemaValid).toBe(true);
    expect(validateAgainstXsd(message?.xml ?? '', SCHEMAS.handoverMessage)).toEqual({ valid: true });
    expect(message?.receiverHerId).toBe(FRISKLIVSSENTRAL.herId);
    expect(message?.senderHerId).toBe(EXAMPLE_SENDER.department.herId);
    const base64 = /<Base64Container[^>]*>([^<]+)<\/Base64Container>/.exec(message?.xml ?? '')?.[1] ?? '';
    const pdf = await readPdf(Buffer.from(base64.replace(/\s/g, ''), 'base64'));
    expect(pdf.pages).toBeGreaterThanOrEqual(1);
    expect(pdf.text).toContain(FRISKLIVSSENTRAL.name);

    const status = await statusOf(ids.ok);
    expect(status.status).toBe('delivered');
    const receipt = status.timeline.find((entry) => entry.kind === 'receipt');
    expect(receipt?.message).toContain('Application receipt OK');
    expect(receipt?.detail).toMatchObject({ msgId: message?.msgId, status: 'ok' });
  }, 180_000);

  it('prints the stored discharge\'s message with "hit-bridge handover render --discharge"', () => {
    const run = spawnSync(
      process.execPath,
      ['src/cli/hit-bridge.ts', 'handover', 'render', '--discharge', ids.ok ?? ''],
      { env: { ...process.env, ...env, HIT_BRIDGE_URL: base }, encoding: 'utf8', timeout: 60_000 },
    );
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(validateAgainstXsd(run.stdout, SCHEMAS.handoverMessage)).toEqual({ valid: true });
    expect(run.stdout).toContain(`<MsgId>${messagesFor(cohorts.ok)[0]?.msgId ?? '?'}</MsgId>`);
  }, 90_000);

  it("fails the handover on the receiver's AppRec Avvist, with its code and words, a handover.rejected event and the Task failed", async () => {
    peer.setReceiverBehaviour(FRISKLIVSSENTRAL.herId, 'refuse');
    const id = await post('/v1/discharges', cohorts.avvist.discharge);
    ids.avvist = id;
    await waitFor('the message taken', () =>
      Promise.resolve(messagesFor(cohorts.avvist).length > 0 ? true : undefined),
    );
    peer.setReceiverBehaviour(FRISKLIVSSENTRAL.herId, 'ok');
    // Delivered first (sent), then failed when the AppRec says Avvist.
    const status = await waitFor('the refusal on the timeline', async () => {
      const body = await statusOf(id);
      return body.status === 'failed' && body.timeline.some((e) => e.kind === 'receipt') ? body : undefined;
    });
    const receipt = status.timeline.find((entry) => entry.kind === 'receipt');
    expect(receipt?.message).toContain('AppRec Avvist');
    expect(receipt?.message).toContain('E21 Mottaker finnes ikke');
    await waitFor('the Task failed', async () =>
      (await taskOf(cohorts.avvist))?.status === 'failed' ? true : undefined,
    );
    const rejected = await waitFor('handover.rejected on Kafka', () =>
      Promise.resolve(events.find((e) => (e.value.data as { handoverId?: string }).handoverId === id)),
    );
    expect(rejected.value.data).toMatchObject({
      herId: FRISKLIVSSENTRAL.herId,
      rejectedBy: 'receiver',
      msgId: messagesFor(cohorts.avvist)[0]?.msgId,
      errors: [{ code: 'E21' }],
    });
  }, 180_000);

  it('sends every handover once the message service is back after 60 s down', async () => {
    await peer.pause();
    const down = [cohorts.down1, cohorts.down2];
    const downIds = [];
    for (const cohort of down) downIds.push(await post('/v1/discharges', cohort.discharge));
    // Down for a minute: the handovers wait, visibly.
    await new Promise((resolve) => setTimeout(resolve, 60_000));
    const waiting = await statusOf(downIds[0] ?? '');
    expect(waiting.status).toBe('accepted');
    expect(waiting.timeline.some((e) => e.kind === 'handover-attempt' && e.message.includes('message service'))).toBe(
      true,
    );
    await peer.resume();
    for (const cohort of down) {
      await waitFor('the Task received', async () =>
        (await taskOf(cohort))?.status === 'received' ? true : undefined,
      );
      expect(messagesFor(cohort)).toHaveLength(1);
    }
  }, 240_000);

  it('never leaves the receiver two different MsgIds for one handover when hit-bridge is SIGKILLed while sending', async () => {
    // The peer takes the message but holds its answer: hit-bridge is killed before it hears the id.
    peer.setAnswerDelay(30_000);
    await post('/v1/discharges', cohorts.killed.discharge);
    await waitFor('the message taken', () =>
      Promise.resolve(messagesFor(cohorts.killed).length > 0 ? true : undefined),
    );
    service?.signal('SIGKILL');
    await service?.exited;
    peer.setAnswerDelay(0);
    await startHitBridge();
    await waitFor(
      'the Task received',
      async () => ((await taskOf(cohorts.killed))?.status === 'received' ? true : undefined),
      180_000,
    );
    const messages = messagesFor(cohorts.killed);
    // Sent again after the restart (the first answer never arrived), always as the same message.
    expect(messages.length).toBeGreaterThanOrEqual(2);
    expect(new Set(messages.map((m) => m.msgId)).size).toBe(1);
    expect(messages.every((m) => m.schemaValid)).toBe(true);
  }, 300_000);
});
