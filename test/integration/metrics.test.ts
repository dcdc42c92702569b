/**
 * What /metrics says after real work against the real EHR (HAPI): five valid records and one the
 * EHR refuses are posted to a service on the embedded store; once all have settled, the counters
 * by kind, the outbox backlog gauges and the EHR request histogram must say exactly what happened.
 * Then a discharge: the handover awaits the Frisklivssentral's answer (1) until it comes (0), and
 * the handover worker's consumer lag is back at 0 once it has handled the discharge event.
 * The exposition is parsed into samples (name, labels, value), never matched as text.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/platform/config.ts';
import { METRIC_NAMES } from '../../src/platform/metrics.ts';
import { startService, type RunningService } from '../../src/service.ts';
import { loadProfiles, registerPeople } from '../support/fhir-server.ts';
import { fixtureCases, readInput, type FixtureCase, withSource } from '../support/fixtures.ts';
import {
  COHORT_HPR,
  handoverCohort,
  HOSPITAL_CONTACT,
  recipientDirectoryYaml,
  TYPICAL_NATIONAL_ID,
} from '../support/handover-cohort.ts';
import { peerEnv } from '../support/peers-env.ts';
import { silentLogger } from '../support/silent-logger.ts';
import { parseExposition, type Sample } from '../support/prometheus-text.ts';
import { unregisteredSyntheticId } from '../support/synthetic-ids.ts';
import { SUBMISSION_KINDS, type RecordKind } from '../../src/kinds/kinds.ts';
import { poll } from '../support/until.ts';

const ehr = peerEnv('EHR_BASE_URL');

/** The one sample of an unlabelled series; undefined when the series is absent. */
function valueOf(samples: readonly Sample[], name: string): number | undefined {
  const found = samples.filter((sample) => sample.name === name);
  if (found.length > 1) throw new Error(`${name} has ${found.length} samples`);
  return found[0]?.value;
}

function valuesOf(samples: readonly Sample[], name: string, label: string): Record<string, number> {
  return Object.fromEntries(
    samples.filter((sample) => sample.name === name).map((sample) => [sample.labels[label] ?? '', sample.value]),
  );
}

async function scrape(base: string): Promise<Sample[]> {
  const response = await fetch(`${base}/metrics`);
  expect(response.status).toBe(200);
  return parseExposition(await response.text());
}

async function post(
  base: string,
  kind: RecordKind | 'discharges' | 'handover-acknowledgements',
  input: unknown,
): Promise<string> {
  const response = await fetch(`${base}/v1/${kind}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(input),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { id: string }).id;
}

/** Polls until `until` holds (or the time is up: the caller's assertions then say what was missing). */

function named(kind: RecordKind, name: string): FixtureCase {
  const fixture = fixtureCases([kind]).find((candidate) => candidate.name === name);
  if (fixture === undefined) throw new Error(`no fixture ${kind}/${name}`);
  return fixture;
}

describe('metrics after delivering to the EHR', () => {
  const source = `it-metrics-${randomBytes(4).toString('hex')}`;
  // Five valid records that need no prescription in the EHR first, and one the EHR refuses.
  const valid = [
    named('hit-sessions', 'strength'),
    named('hit-sessions', 'edge-estimated-hrmax-d-number'),
    named('fitness-tests', 'treadmill-max'),
    named('fitness-tests', 'six-minute-walk'),
    named('fitness-tests', 'one-rep-max'),
  ];
  let service: RunningService;
  // A stay reduced to what a handover needs (its prescription in the EHR), for a patient of its own.
  const discharged = (() => {
    const nationalId = unregisteredSyntheticId();
    const cohort = JSON.parse(
      JSON.stringify(handoverCohort('typical', source)).replaceAll(TYPICAL_NATIONAL_ID, nationalId),
    ) as ReturnType<typeof handoverCohort>;
    return { ...cohort, nationalId };
  })();

  beforeAll(async () => {
    await loadProfiles(ehr);
    for (const fixture of valid) {
      const input = readInput(fixture) as {
        patient: { nationalId: string };
        performer?: { hprNumber: string };
      };
      await registerPeople(
        ehr,
        input.patient.nationalId,
        [input.performer?.hprNumber].filter((value): value is string => value !== undefined),
      );
    }
    await registerPeople(ehr, discharged.nationalId, Object.values(COHORT_HPR));
    const dataDir = mkdtempSync(join(tmpdir(), 'hit-bridge-metrics-'));
    const directory = join(dataDir, 'recipients.yaml');
    writeFileSync(directory, recipientDirectoryYaml());
    const loaded = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      RECIPIENT_DIRECTORY_PATH: directory,
      HOSPITAL_CONTACT_ORGANISATION: HOSPITAL_CONTACT.organisation,
      HOSPITAL_CONTACT_NAME: HOSPITAL_CONTACT.name,
      HOSPITAL_CONTACT_PHONE: HOSPITAL_CONTACT.phone ?? '',
      EHR_BASE_URL: ehr,
      EHR_RETRY_INITIAL_MS: '200',
      LOG_LEVEL: 'silent',
      AUTH_MODE: 'off',
      // Six posts and a scrape every 250 ms: the per-client limit is not what this test is about.
      RATE_LIMIT_PER_SECOND: '100000',
      RATE_LIMIT_BURST: '100000',
    });
    if (!loaded.ok) throw new Error(loaded.errors.join('; '));
    service = await startService(loaded.config, silentLogger);
  });

  afterAll(async () => {
    await service.stop();
  });

  it('counts accepted, delivered and failed by kind exactly, drains the backlog to 0 and times each EHR request by outcome', async () => {
    const ids = await Promise.all(valid.map((fixture) => post(service.url, fixture.kind, withSource(fixture, source))));
    const refused = {
      ...withSource(named('hit-sessions', 'strength'), source),
      sessionId: 'S-METRICS-UNKNOWN-PATIENT',
      patient: { nationalId: unregisteredSyntheticId() },
    };
    ids.push(await post(service.url, 'hit-sessions', refused));

    const statuses = await Promise.all(
      ids.map((id) =>
        poll(
          async () =>
            ((await (await fetch(`${service.url}/v1/submissions/${id}`)).json()) as { status: string }).status,
          (status) => status !== 'accepted',
        ),
      ),
    );
    expect(statuses).toEqual(['delivered', 'delivered', 'delivered', 'delivered', 'delivered', 'failed']);

    // Delivered is settled for the EHR; the events still go through the outbox: wait until it is empty.
    const samples = await poll(
      () => scrape(service.url),
      (seen) => Object.values(valuesOf(seen, METRIC_NAMES.outboxBacklog, 'queue')).every((count) => count === 0),
      60_000,
    );

    const zero = Object.fromEntries(SUBMISSION_KINDS.map((kind) => [kind, 0]));
    expect(valuesOf(samples, METRIC_NAMES.submissionsAccepted, 'kind')).toEqual({
      ...zero,
      'hit-sessions': 3,
      'fitness-tests': 3,
    });
    expect(valuesOf(samples, METRIC_NAMES.submissionsDelivered, 'kind')).toEqual({
      ...zero,
      'hit-sessions': 2,
      'fitness-tests': 3,
    });
    expect(valuesOf(samples, METRIC_NAMES.submissionsFailed, 'kind')).toEqual({ ...zero, 'hit-sessions': 1 });
    // The same failure as the store sees it now, under its reason; nothing left on its way.
    expect(valuesOf(samples, METRIC_NAMES.submissionsFailedNow, 'reason')).toEqual({
      'ehr-refused': 1,
      'ehr-unreachable': 0,
      'prescription-missing': 0,
      unrecorded: 0,
    });
    expect(samples.find((sample) => sample.name === METRIC_NAMES.oldestUndeliveredAge)?.value).toBe(0);

    const backlog = valuesOf(samples, METRIC_NAMES.outboxBacklog, 'queue');
    expect(Object.keys(backlog).length).toBeGreaterThan(0);
    expect(Object.values(backlog).every((count) => count === 0)).toBe(true);
    expect(Object.values(valuesOf(samples, METRIC_NAMES.outboxOldestAge, 'queue'))).toEqual(
      Object.keys(backlog).map(() => 0),
    );

    const ehrCounts = valuesOf(samples, `${METRIC_NAMES.ehrRequestDuration}_count`, 'outcome');
    expect(ehrCounts.success).toBeGreaterThanOrEqual(5);
    expect(ehrCounts.permanent).toBeGreaterThanOrEqual(1);
  });
  it('shows a discharge awaiting acknowledgement until it is answered, and the handover lag back at 0 once handled', async () => {
    const before = await scrape(service.url);
    // Fed from the start where the handover role runs: numbers, not gaps.
    expect(valueOf(before, METRIC_NAMES.handoversAwaitingAck)).toBe(0);
    expect(valueOf(before, METRIC_NAMES.handoverConsumerLag)).toBe(0);

    const prescription = await post(service.url, 'prescriptions', discharged.prescription);
    const delivered = await poll(
      async () =>
        ((await (await fetch(`${service.url}/v1/submissions/${prescription}`)).json()) as { status: string }).status,
      (status) => status !== 'accepted',
    );
    expect(delivered).toBe('delivered');

    const handoverId = await post(service.url, 'discharges', discharged.discharge);
    const sent = await poll(
      () => scrape(service.url),
      (seen) => valueOf(seen, METRIC_NAMES.handoversAwaitingAck) === 1,
    );
    expect(valueOf(sent, METRIC_NAMES.handoversAwaitingAck)).toBe(1);
    const status = (await (await fetch(`${service.url}/v1/submissions/${handoverId}`)).json()) as {
      handover?: { task?: string; acknowledgement?: unknown };
    };
    expect(status.handover?.task).toMatch(/^Task\/.+/);
    expect(status.handover?.acknowledgement).toBeUndefined();

    // Its packets are sent, so the worker handled the discharge event; the commit follows the handler.
    const caughtUp = await poll(
      () => scrape(service.url),
      (seen) => valueOf(seen, METRIC_NAMES.handoverConsumerLag) === 0,
      30_000,
    );
    expect(valueOf(caughtUp, METRIC_NAMES.handoverConsumerLag)).toBe(0);

    await post(service.url, 'handover-acknowledgements', { handoverId, status: 'accepted', by: 'Frisklivssentralen' });
    const answered = await poll(
      () => scrape(service.url),
      (seen) => valueOf(seen, METRIC_NAMES.handoversAwaitingAck) === 0,
      30_000,
    );
    expect(valueOf(answered, METRIC_NAMES.handoversAwaitingAck)).toBe(0);
    expect(valueOf(answered, METRIC_NAMES.handoverConsumerLag)).toBe(0);
    expect(valuesOf(answered, METRIC_NAMES.submissionsAccepted, 'kind')).toMatchObject({
      prescriptions: 1,
      discharges: 1,
    });
  });
});
