/**
 * `npm run demo`: hit-bridge on real peers with a synthetic cohort, end to end.
 *
 * 1. Starts Kafka, HAPI FHIR (the EHR) and PostgreSQL with the code the tests use (test/peers/),
 *    or, with HIT_BRIDGE_PEERS=external, uses those named by KAFKA_BROKERS, EHR_BASE_URL and
 *    DATABASE_URL (e.g. after `npm run peers:up`), in a database of its own.
 * 2. Prepares the EHR as a hospital has it: our profiles loaded, the 24 patients and the
 *    clinicians registered (hit-bridge never creates a patient).
 * 3. Starts hit-bridge (`node src/main.ts`, every role in one process) on them.
 * 4. Posts the St. Olavs-like cohort (demo/st-olavs-cohort.ts) through the HTTP API: each
 *    prescription, the sessions and fitness tests; once the EHR holds a patient's stay, the
 *    discharge.
 * 5. Prints what happened, read back from the peers: resources in the EHR, events per topic on
 *    Kafka, the handover packets as HTML files, and the metrics URL.
 *
 * Then it keeps hit-bridge and the peers running until Ctrl-C (`--exit`: stops at once).
 * Options: --exit, --seed N (the cohort; default 2014), --out DIR (default demo-output/<source>).
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { COHORT_HPR, HOSPITAL_CONTACT } from '../test/support/handover-cohort.ts';
import { loadProfiles, registerPeople } from '../test/support/fhir-server.ts';
import { scratchDatabases } from '../test/support/scratch-databases.ts';
import { spawnService, type ServiceProcess } from '../test/support/service-process.ts';
import { pool, postUntilAccepted, waitAllSettled, type Postable } from '../test/support/workload.ts';
import { claimRunDir, peerEnv, startPeers, stopPeers } from '../test/peers/all.ts';
import { startEdiPeer, type EdiPeer } from '../test/peers/edi-peer.ts';
import { EDI_API, startHelseIdPeers, type HelseIdPeers } from '../test/support/helseid-peers.ts';
import { EXAMPLE_SENDER } from '../src/handover/edi/example-handover.ts';
import { loadRecipientDirectory } from '../src/handover/recipient-directory.ts';
import type { RunningPeer } from '../test/peers/peer.ts';
import { METRIC_NAMES } from '../src/platform/metrics.ts';
import { TOPICS } from '../src/events/cloud-events.ts';
import {
  DEMO_TOPICS,
  expectedEhrCounts,
  expectedPacketCount,
  identifierSystem,
  readEhr,
  readKafka,
  readMetrics,
  waitForCounters,
  writePacketHtml,
} from './report.ts';
import { stOlavsCohort, type DemoPatient } from './st-olavs-cohort.ts';

const { values: options } = parseArgs({
  options: {
    exit: { type: 'boolean', default: false },
    seed: { type: 'string', default: '2014' },
    out: { type: 'string' },
  },
});

const PEER_VARIABLES = [
  'KAFKA_BROKERS',
  'EHR_BASE_URL',
  'DATABASE_URL',
  'KEYCLOAK_URL',
  'KEYCLOAK_ADMIN_PASSWORD',
] as const;
/** Submissions and handovers must settle within this; a healthy laptop needs a minute or two. */
const SETTLE_TIMEOUT_MS = 15 * 60_000;

const say = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};
const seconds = (since: number): string => `${((performance.now() - since) / 1000).toFixed(1)} s`;
const pad = (text: string, width: number): string => text.padEnd(width);

let peers: RunningPeer[] = [];
let service: ServiceProcess | undefined;
let databases: ReturnType<typeof scratchDatabases> | undefined;
let helseId: HelseIdPeers | undefined;
let edi: EdiPeer | undefined;

async function stopEverything(): Promise<void> {
  if (service !== undefined) {
    service.signal('SIGTERM');
    await Promise.race([service.exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
    service.signal('SIGKILL');
  }
  await databases?.dropAll().catch(() => undefined);
  await edi?.stop().catch(() => undefined);
  await helseId?.stop().catch(() => undefined);
  await stopPeers(peers);
}

async function main(): Promise<void> {
  const seed = Number(options.seed);
  if (!Number.isInteger(seed)) throw new Error(`--seed must be a whole number (got "${options.seed}")`);
  const source = `demo-${randomBytes(3).toString('hex')}`;
  const outDir = options.out ?? join('demo-output', source);
  mkdirSync(outDir, { recursive: true });
  const identitySeed = randomBytes(4).readUInt32BE();
  const patients = stOlavsCohort(source, { seed, identitySeed });
  const men = patients.filter((patient) => patient.sex === 'male').length;

  say('hit-bridge demo: a synthetic cohort modelled on the St. Olavs HIT study (Flemmen 2014)');
  say(
    `  ${patients.length} patients (${men} men, ${patients.length - men} women, ${ageSummary(patients)} years), ` +
      '4x4 on the treadmill three times a week for 8 weeks, a treadmill test at start and end, then discharge',
  );
  say(
    `  source ${source} (seed ${seed}, identity seed ${identitySeed}); every identifier is under ${identifierSystem(source)}`,
  );
  say();

  // ---- 1. peers ----
  let started = performance.now();
  if (process.env.HIT_BRIDGE_PEERS === 'external') {
    const missing = PEER_VARIABLES.filter((name) => !process.env[name]);
    if (missing.length > 0) throw new Error(`HIT_BRIDGE_PEERS=external but ${missing.join(', ')} not set`);
    say('peers    using the running peers (HIT_BRIDGE_PEERS=external)');
  } else {
    say(
      'peers    starting Kafka, HAPI FHIR, PostgreSQL and Keycloak (the first run downloads them from Maven Central)…',
    );
    peers = await startPeers({
      runDir: claimRunDir(process.cwd(), 'demo'),
      peers: ['kafka', 'hapi', 'postgres', 'keycloak'],
    });
    Object.assign(process.env, peerEnv(peers));
    say(`peers    ready in ${seconds(started)}: ${peers.map((peer) => `${peer.name} ${peer.url}`).join(', ')}`);
  }
  const ehr = process.env.EHR_BASE_URL ?? '';
  const brokers = process.env.KAFKA_BROKERS ?? '';
  databases = scratchDatabases('demo');
  const databaseUrl = await databases.create();

  // ---- 2. the EHR as the hospital has it ----
  started = performance.now();
  await loadProfiles(ehr);
  // The clinicians once (parallel conditional creates of one identifier race in HAPI), then the patients.
  const [first, ...rest] = patients;
  if (first !== undefined)
    await registerPeople(ehr, first.inputs.prescription.patient.nationalId, Object.values(COHORT_HPR));
  await pool(rest, 4, (patient) => registerPeople(ehr, patient.inputs.prescription.patient.nationalId, []));
  say(
    `EHR      ${ehr}: profiles loaded, ${patients.length} patients and their clinicians registered (${seconds(started)})`,
  );

  // ---- Norsk Helsenett: HelseID (Keycloak) and the EDI 2.0 message service, as the tests stand them in ----
  helseId = await startHelseIdPeers({
    keycloakUrl: process.env.KEYCLOAK_URL ?? '',
    adminPassword: process.env.KEYCLOAK_ADMIN_PASSWORD ?? '',
    ehrUpstream: ehr,
  });
  const ediClient = await helseId.registerClient(300, EDI_API);
  const frisklivssentraler = loadRecipientDirectory('config/recipient-directory.yaml').entries.filter(
    (entry) => entry.channel === 'edi',
  );
  edi = await startEdiPeer({
    issuer: helseId.issuer,
    jwks: `${helseId.issuer}/protocol/openid-connect/certs`,
    receivers: [...new Set(frisklivssentraler.map((entry) => entry.herId))],
    acknowledgeAfterMs: 500,
    appRecAfterMs: 2000,
  });
  say(`NHN      EDI 2.0 stand-in at ${edi.url}, HelseID stand-in at ${helseId.issuer}`);

  // ---- 3. hit-bridge ----
  const logFile = join(outDir, 'hit-bridge.log');
  service = spawnService(process.execPath, ['src/main.ts'], {
    PORT: process.env.DEMO_PORT ?? '0',
    HOST: '127.0.0.1',
    AUTH_MODE: 'off',
    LOG_PRETTY: 'false',
    LOG_LEVEL: 'info',
    DATABASE_URL: databaseUrl,
    KAFKA_BROKERS: brokers,
    EHR_BASE_URL: ehr,
    PATIENT_KEY_SECRET: randomBytes(32).toString('base64url'),
    // One clinic system posting a whole cohort at once: the per-client limit is for the wards.
    RATE_LIMIT_PER_SECOND: '1000',
    RATE_LIMIT_BURST: '1000',
    // HAPI validates every resource against its profile on write: more Bundles in flight keep it busy.
    EHR_DELIVERY_CONCURRENCY: '8',
    HOSPITAL_CONTACT_ORGANISATION: HOSPITAL_CONTACT.organisation,
    HOSPITAL_CONTACT_NAME: HOSPITAL_CONTACT.name,
    HOSPITAL_CONTACT_PHONE: HOSPITAL_CONTACT.phone ?? '',
    HANDOVER_CONSUMER_GROUP: `hit-bridge-${source}`,
    // The Frisklivssentraler receive the handover as a Dialogmelding over (the stand-in for) Norsk Helsenett.
    EDI_BASE_URL: edi.url,
    EDI_RECEIPT_POLL_MS: '1000',
    EDI_RECEIPT_POLL_MAX_MS: '5000',
    HELSEID_ISSUER: helseId.issuer,
    HELSEID_CLIENT_ID: ediClient.clientId,
    HELSEID_PRIVATE_KEY: JSON.stringify(ediClient.jwk),
    HELSEID_SCOPES: EDI_API.scope,
    HOSPITAL_NAME: EXAMPLE_SENDER.organisation.name,
    HOSPITAL_HER_ID: EXAMPLE_SENDER.organisation.herId,
    HOSPITAL_ORGANISATION_NUMBER: EXAMPLE_SENDER.organisation.organisationNumber,
    HOSPITAL_DEPARTMENT_NAME: EXAMPLE_SENDER.department.name,
    HOSPITAL_DEPARTMENT_HER_ID: EXAMPLE_SENDER.department.herId,
  });
  service.child.stdout?.pipe(createWriteStream(logFile));
  const listening = await service.waitForLine((line) => line.msg === 'listening', 60_000);
  const baseUrl = `http://127.0.0.1:${String(listening.port)}`;
  say(`service  hit-bridge at ${baseUrl} (log: ${logFile})`);
  say();

  // ---- 4. the cohort through the API ----
  started = performance.now();
  const idsByKind = new Map<string, string[]>();
  const post = async (item: Postable): Promise<string> => {
    const { id } = await postUntilAccepted(() => baseUrl, item);
    const ids = idsByKind.get(item.kind) ?? [];
    ids.push(id);
    idsByKind.set(item.kind, ids);
    return id;
  };
  let index = 0;
  const item = (kind: Postable['kind'], input: object): Postable => {
    index += 1;
    return { index, kind, input: input as Record<string, unknown>, idempotencyKey: `${source}-${index}` };
  };
  // Prescriptions first (sessions point at them), then each stay's sessions and tests.
  await pool(patients, 8, (patient) => post(item('prescriptions', patient.inputs.prescription)));
  const records = patients.flatMap((patient) => [
    ...patient.inputs.sessions.map((session) => item('hit-sessions', session)),
    ...patient.inputs.fitnessTests.map((test) => item('fitness-tests', test)),
  ]);
  await pool(records, 8, post);
  const recordIds = ['prescriptions', 'hit-sessions', 'fitness-tests'].flatMap((kind) => idsByKind.get(kind) ?? []);
  say(
    `posted   ${count(idsByKind, 'prescriptions')} prescriptions, ${count(idsByKind, 'hit-sessions')} sessions, ` +
      `${count(idsByKind, 'fitness-tests')} fitness tests (${seconds(started)})`,
  );
  // Watched on /metrics, not by asking for each of hundreds of submissions every second.
  await waitForCounters(
    baseUrl,
    [METRIC_NAMES.submissionsDelivered, METRIC_NAMES.submissionsFailed],
    recordIds.length,
    SETTLE_TIMEOUT_MS,
  );
  const recordStatuses = await waitAllSettled(baseUrl, recordIds, SETTLE_TIMEOUT_MS);
  say(`EHR      ${statusLine(recordStatuses)} (${seconds(started)} since the first post)`);

  // The discharge comes when the stay is in the EHR: the handover reads it from there.
  started = performance.now();
  await pool(patients, 8, (patient) => post(item('discharges', patient.inputs.discharge)));
  const dischargeStatuses = await waitAllSettled(baseUrl, idsByKind.get('discharges') ?? [], SETTLE_TIMEOUT_MS);
  say(`handover ${count(idsByKind, 'discharges')} discharges: ${statusLine(dischargeStatuses)} (${seconds(started)})`);
  say();

  // Each e-message is answered by the receiving system's AppRec; hit-bridge asks for it.
  const ediPeer = edi;
  const receipts = await waitForReceipts(baseUrl, idsByKind.get('discharges') ?? [], ediPeer.received().length);
  say(`Norsk Helsenett (EDI 2.0 stand-in, ${ediPeer.url}):`);
  say(
    `  e-messages               ${String(ediPeer.received().length).padStart(5)}   (Dialogmelding 1.1 with the plan as PDF)`,
  );
  say(`  schema-valid             ${String(ediPeer.received().filter((m) => m.schemaValid).length).padStart(5)}`);
  for (const [status, n] of receipts) say(`  ${pad(`apprec-${status}`, 24)} ${String(n).padStart(5)}`);
  say();

  // ---- 5. what happened, read back from the peers ----
  const expectedEhr = expectedEhrCounts(patients);
  const ehrReport = await readEhr(ehr, source, [...expectedEhr.keys()]);
  say(`In the EHR (${ehr}), resources with an identifier under ${identifierSystem(source)}:`);
  for (const [type, expected] of expectedEhr) {
    const found = ehrReport.counts.get(type) ?? 0;
    say(`  ${pad(type, 16)} ${String(found).padStart(5)}${found === expected ? '' : `   (expected ${expected})`}`);
  }
  say(`  ${pad('Procedure OBAB00', 16)} ${String(ehrReport.obab00Procedures).padStart(5)}   (coded with NCMP OBAB00)`);
  say();

  const allIds = new Set([...idsByKind.values()].flat());
  const kafka = await readKafka(
    brokers,
    allIds,
    new Map([
      [TOPICS.records, recordIds.length],
      [TOPICS.handover, count(idsByKind, 'discharges')],
      [TOPICS.handoverPackets, expectedPacketCount(patients)],
    ]),
    120_000,
  );
  say(`Events on Kafka (${brokers}) from this run, by topic:`);
  for (const topic of DEMO_TOPICS) say(`  ${pad(topic, 34)} ${String(kafka.perTopic.get(topic) ?? 0).padStart(5)}`);
  say();

  const htmlDir = join(outDir, 'handover');
  const paths = writePacketHtml(htmlDir, kafka.packets);
  say(`Handover packets: ${paths.length} print-ready HTML files in ${htmlDir}/`);
  for (const path of paths.slice(0, 2)) say(`  open ${relative(process.cwd(), path)}`);
  say();

  const metrics = await readMetrics(baseUrl, [METRIC_NAMES.submissionsAccepted, METRIC_NAMES.submissionsDelivered]);
  say(`Metrics: ${baseUrl}/metrics`);
  for (const [series, value] of metrics) if (value > 0) say(`  ${series} ${value}`);
  say();

  if (options.exit) return;
  say(`hit-bridge and the peers keep running: try ${baseUrl}/v1/submissions/${recordIds[0] ?? ''}`);
  say('Ctrl-C stops them.');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}

/** The AppRecs hit-bridge has read for the discharges (their timelines' receipt entries), by status, once all came. */
async function waitForReceipts(
  baseUrl: string,
  dischargeIds: readonly string[],
  sent: number,
): Promise<Map<string, number>> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const byStatus = new Map<string, number>();
    for (const id of dischargeIds) {
      const body = (await (await fetch(`${baseUrl}/v1/submissions/${id}`)).json()) as {
        timeline: { kind: string; detail?: { status?: string } }[];
      };
      for (const entry of body.timeline.filter((e) => e.kind === 'receipt')) {
        const status = entry.detail?.status ?? 'none';
        byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
      }
    }
    const read = [...byStatus.values()].reduce((a, b) => a + b, 0);
    if (read >= sent || Date.now() > deadline) return new Map([...byStatus].sort());
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

function count(ids: ReadonlyMap<string, readonly string[]>, kind: string): number {
  return ids.get(kind)?.length ?? 0;
}

function statusLine(statuses: ReadonlyMap<string, string>): string {
  const byStatus = new Map<string, number>();
  for (const status of statuses.values()) byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
  return [...byStatus.entries()].map(([status, n]) => `${n} ${status}`).join(', ');
}

function ageSummary(patients: readonly DemoPatient[]): string {
  const ages = patients.map((patient) => patient.ageAtStart);
  const mean = ages.reduce((a, b) => a + b, 0) / ages.length;
  const sd = Math.sqrt(ages.reduce((sum, age) => sum + (age - mean) ** 2, 0) / (ages.length - 1));
  return `${mean.toFixed(0)} ± ${sd.toFixed(0)}`;
}

try {
  await main();
  await stopEverything();
  say(peers.length > 0 ? 'stopped hit-bridge and the peers' : 'stopped hit-bridge');
} catch (error) {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  if (service !== undefined) process.stderr.write(service.stderr());
  await stopEverything();
  process.exit(1);
}
