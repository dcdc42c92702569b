/**
 * The service end to end against the real peers, in both configurations a hospital can run:
 * PostgreSQL + Kafka (production), and the embedded defaults (SQLite + the store's own log).
 * Every fixture input is posted to the API; each must arrive in the EHR (HAPI) exactly once,
 * counted by business identifier, and yield exactly one valid "…recorded" event. A record the
 * EHR refuses fails visibly: status, the EHR's words, and a delivery.failed event.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FhirResource } from 'fhir/r4.js';
import { DEFAULT_MAPPING_OPTIONS } from '../../mappings/common.ts';
import { mappers } from '../../mappings/registry.ts';
import { TOPICS } from '../../src/events/cloud-events.ts';
import type { ConsumedEvent, EventBus } from '../../src/events/event-bus.ts';
import { loadEventSchemas } from '../../src/events/event-schemas.ts';
import { createEventValidator } from '../../src/events/event-validator.ts';
import { createKafka } from '../../src/events/kafka-client.ts';
import { createKafkaEventBus } from '../../src/events/kafka-event-bus.ts';
import { createLogEventBus } from '../../src/events/log-event-bus.ts';
import { loadConfig } from '../../src/platform/config.ts';
import { startService, type RunningService } from '../../src/service.ts';
import { createSqliteStore } from '../../src/store/sqlite-store.ts';
import type { Store } from '../../src/store/store.ts';
import { collectEvents } from '../support/collect-events.ts';
import { countByIdentifier, loadProfiles, registerPeople } from '../support/fhir-server.ts';
import { fixtureCases, readInput, type FixtureCase, withSource } from '../support/fixtures.ts';
import { peerEnv } from '../support/peers-env.ts';
import { scratchDatabases } from '../support/scratch-databases.ts';
import { silentLogger } from '../support/silent-logger.ts';
import { unregisteredSyntheticId } from '../support/synthetic-ids.ts';
import type { RecordKind } from '../../src/kinds/kinds.ts';

const validator = createEventValidator(loadEventSchemas());
const ehr = peerEnv('EHR_BASE_URL');

interface Setup {
  readonly name: string;
  /** The service's configuration for this setup (may create what it needs, e.g. a database). */
  env(dataDir: string): Promise<Record<string, string>>;
  /** Removes what env() created. */
  cleanup(): Promise<void>;
  /** A consumer of the service's events, from the beginning of the topics. */
  bus(dataDir: string): { bus: EventBus; close(): Promise<void> };
}

const databases = scratchDatabases('delivery');

const setups: Setup[] = [
  {
    name: 'PostgreSQL + Kafka',
    // A database of its own: other runs' workers on the same server must not claim these jobs.
    env: async () => ({
      DATABASE_URL: await databases.create(),
      PATIENT_KEY_SECRET: 'delivery-test-secret-0123456789abcdef',
      KAFKA_BROKERS: peerEnv('KAFKA_BROKERS'),
    }),
    cleanup: () => databases.dropAll(),
    bus: () => {
      const bus = createKafkaEventBus({
        kafka: createKafka(peerEnv('KAFKA_BROKERS'), silentLogger),
        logger: silentLogger,
      });
      return { bus, close: () => bus.close() };
    },
  },
  {
    name: 'embedded defaults: SQLite + the store log',
    env: () => Promise.resolve({}),
    cleanup: () => Promise.resolve(),
    bus: (dataDir) => {
      // A second connection to the service's own SQLite file: its log is the event bus.
      const store: Store = createSqliteStore({ file: join(dataDir, 'hit-bridge.db') });
      const bus = createLogEventBus({ log: store.log, logger: silentLogger, pollIntervalMs: 100 });
      return {
        bus,
        close: async () => {
          await bus.close();
          await store.close();
        },
      };
    },
  },
];

/** The environment without the peers' addresses, plus the setup's own: what the service and its CLI see. */
function childEnv(own: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.DATABASE_URL;
  delete env.KAFKA_BROKERS;
  return { ...env, ...own };
}

interface StatusBody {
  status: string;
  ehrReferences: string[];
  timeline: { kind: string; message: string }[];
}

async function post(base: string, kind: RecordKind, input: unknown): Promise<string> {
  const response = await fetch(`${base}/v1/${kind}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(input),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { id: string }).id;
}

async function settled(
  base: string,
  id: string,
  until = (status: string) => status !== 'accepted',
  // Generous: on a loaded 2-core machine HAPI takes seconds per transaction (seen: 3–4 s).
  timeoutMs = 180_000,
): Promise<StatusBody> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const body = (await (await fetch(`${base}/v1/submissions/${id}`)).json()) as StatusBody;
    if (until(body.status) || Date.now() > deadline) return body;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function waitFor(base: string, id: string, until: (body: StatusBody) => boolean): Promise<StatusBody> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const body = (await (await fetch(`${base}/v1/submissions/${id}`)).json()) as StatusBody;
    if (until(body) || Date.now() > deadline) return body;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe.each(setups)('delivery through $name', (setup) => {
  const source = `it-${randomBytes(4).toString('hex')}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'hit-bridge-delivery-'));
  let service: RunningService;
  let serviceEnv: Record<string, string>;

  beforeAll(async () => {
    await loadProfiles(ehr);
    for (const fixture of fixtureCases()) {
      const input = readInput(fixture) as {
        patient: { nationalId: string };
        performer?: { hprNumber: string };
        prescriber?: { hprNumber: string };
      };
      const hpr = [input.performer?.hprNumber, input.prescriber?.hprNumber].filter(
        (value): value is string => value !== undefined,
      );
      await registerPeople(ehr, input.patient.nationalId, hpr);
    }
    serviceEnv = {
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      EHR_BASE_URL: ehr,
      EHR_RETRY_INITIAL_MS: '200',
      LOG_LEVEL: 'silent',
      AUTH_MODE: 'off',
      // Small, so the bulk replay test can show the bound.
      REPLAY_MAX: '5',
      ...(await setup.env(dataDir)),
    };
    const loaded = loadConfig(serviceEnv);
    if (!loaded.ok) throw new Error(loaded.errors.join('; '));
    service = await startService(loaded.config, silentLogger);
  });

  afterAll(async () => {
    await service.stop();
    await setup.cleanup();
  });

  it('delivers every fixture to the EHR exactly once and publishes one valid recorded event for each', async () => {
    // Prescriptions first and settled: sessions point at their prescription by identifier.
    const ids = new Map<string, FixtureCase>();
    const nationalIds = fixtureCases().map(
      (fixture) => (readInput(fixture) as { patient: { nationalId: string } }).patient.nationalId,
    );
    for (const kinds of [['prescriptions'], ['fitness-tests', 'hit-sessions']] as const) {
      const batch = await Promise.all(
        fixtureCases(kinds).map(
          async (fixture) => [await post(service.url, fixture.kind, withSource(fixture, source)), fixture] as const,
        ),
      );
      for (const [id, fixture] of batch) {
        const status = await settled(service.url, id);
        expect([`${fixture.kind}/${fixture.name}`, status.status, status.timeline.at(-1)?.message]).toEqual([
          `${fixture.kind}/${fixture.name}`,
          'delivered',
          expect.any(String),
        ]);
        ids.set(id, fixture);
      }
    }

    for (const [id, fixture] of ids) {
      const bundle = mappers[fixture.kind](withSource(fixture, source) as never, DEFAULT_MAPPING_OPTIONS);
      for (const entry of bundle.entry ?? []) {
        const resource = entry.resource as FhirResource & { identifier?: { system?: string; value?: string }[] };
        const identifier = resource.identifier?.[0];
        const count = await countByIdentifier(
          ehr,
          resource.resourceType,
          identifier?.system ?? '',
          identifier?.value ?? '',
        );
        expect([id, resource.resourceType, identifier?.value, count]).toEqual([
          id,
          resource.resourceType,
          identifier?.value,
          1,
        ]);
      }
    }

    const consumer = setup.bus(dataDir);
    try {
      const mine = (events: ConsumedEvent[]) => events.filter((event) => ids.has(String(event.value.subject)));
      const events = mine(
        await collectEvents(
          consumer.bus,
          [TOPICS.records],
          (seen) => new Set(mine(seen).map((e) => e.value.id)).size >= ids.size,
        ),
      );
      expect(new Set(events.map((event) => event.value.subject))).toEqual(new Set(ids.keys()));
      expect(new Set(events.map((event) => event.value.id)).size).toBe(ids.size);
      for (const event of events) {
        expect([event.value.id, validator.validateEvent(event.value)]).toEqual([event.value.id, { ok: true }]);
        const text = JSON.stringify(event);
        expect(nationalIds.filter((nationalId) => text.includes(nationalId))).toEqual([]);
      }
    } finally {
      await consumer.close();
    }
  });

  it('a session that arrives before its prescription waits for it, then both are delivered', async () => {
    const sessionFixture = fixtureCases(['hit-sessions']).find((candidate) => candidate.name === 'typical-4x4');
    const prescriptionFixture = fixtureCases(['prescriptions']).find((c) => c.name === 'typical-4x4-strength');
    if (sessionFixture === undefined || prescriptionFixture === undefined) throw new Error('fixtures missing');
    // A source of its own: the prescription is new to the EHR and to the store.
    const ownSource = `${source}-late-rx`;
    const session = { ...withSource(sessionFixture, ownSource), prescriptionId: 'RX-LATE-1' };
    const prescription = { ...withSource(prescriptionFixture, ownSource), prescriptionId: 'RX-LATE-1' };

    const sessionId = await post(service.url, 'hit-sessions', session);
    // A search of the EHR has found no such ServiceRequest at least once before the prescription comes.
    const waiting = await waitFor(service.url, sessionId, (body) =>
      body.timeline.some((entry) => entry.kind === 'note' || entry.kind === 'failed'),
    );
    expect(waiting.status).toBe('accepted');
    expect(waiting.timeline.map((entry) => entry.message).join('\n')).toMatch(/no prescription RX-LATE-1 yet/);

    const prescriptionId = await post(service.url, 'prescriptions', prescription);
    expect((await settled(service.url, prescriptionId)).status).toBe('delivered');
    const delivered = await settled(service.url, sessionId);
    expect(delivered.status).toBe('delivered');
    const procedure = delivered.ehrReferences.find((reference) => reference.startsWith('Procedure/'));
    const read = (await (await fetch(`${ehr}/${procedure ?? 'Procedure/none'}`)).json()) as {
      basedOn?: { reference?: string }[];
    };
    const basedOn = read.basedOn?.[0]?.reference ?? 'ServiceRequest/none';
    const serviceRequest = (await (await fetch(`${ehr}/${basedOn}`)).json()) as { identifier?: { value?: string }[] };
    expect(serviceRequest.identifier?.map((identifier) => identifier.value)).toContain('prescription/RX-LATE-1');
  });

  it("fails a record for a patient the EHR does not know, with the EHR's words and a delivery.failed event; replay delivers it once the patient exists", async () => {
    const fixture = fixtureCases(['hit-sessions']).find((candidate) => candidate.name === 'strength');
    if (fixture === undefined) throw new Error('no strength fixture');
    const unknownId = unregisteredSyntheticId();
    const input = {
      ...withSource(fixture, source),
      sessionId: 'S-UNKNOWN-PATIENT',
      patient: { nationalId: unknownId },
    };
    const id = await post(service.url, 'hit-sessions', input);
    const status = await settled(service.url, id);
    expect(status.status).toBe('failed');
    expect(status.timeline.find((entry) => entry.kind === 'failed')?.message).toMatch(
      /EHR refused the record: .*HAPI-1091/,
    );
    expect(JSON.stringify(status)).not.toContain(unknownId);

    const consumer = setup.bus(dataDir);
    try {
      const events = await collectEvents(consumer.bus, [TOPICS.deliveryFailures], (seen) =>
        seen.some((event) => event.value.subject === id),
      );
      const failed = events.find((event) => event.value.subject === id);
      expect(failed?.value).toMatchObject({
        type: 'no.hitbridge.delivery.failed.v1',
        data: { httpStatus: 404, attempts: 1 },
      });
      expect(validator.validateEvent(failed?.value)).toEqual({ ok: true });
      expect(JSON.stringify(failed)).not.toContain(unknownId);
    } finally {
      await consumer.close();
    }

    // The cause fixed — the EHR now knows the patient — `hit-bridge replay` delivers it.
    await registerPeople(ehr, unknownId, [(input as { performer: { hprNumber: string } }).performer.hprNumber]);
    const replay = spawnSync(process.execPath, ['src/cli/hit-bridge.ts', 'replay', id], {
      env: childEnv(serviceEnv),
      encoding: 'utf8',
    });
    expect([replay.status, replay.stderr]).toEqual([0, expect.any(String)]);
    expect(replay.stdout).toContain(`re-queued ${id}`);
    const replayed = await settled(service.url, id, (status) => status === 'delivered');
    expect(replayed.status).toBe('delivered');
    expect(replayed.timeline.map((entry) => entry.kind)).toEqual(
      expect.arrayContaining(['failed', 'replayed', 'delivered']),
    );
  });
  it('bulk replay: the failed ones are found by filter across pages and counted, a filter over REPLAY_MAX is refused with its count, and once the EHR knows the patients each is delivered exactly once', async () => {
    const fixture = fixtureCases(['hit-sessions']).find((candidate) => candidate.name === 'strength');
    if (fixture === undefined) throw new Error('no strength fixture');
    const bulkSource = `${source}-bulk`;
    const patients = Array.from({ length: 6 }, () => unregisteredSyntheticId());
    const ids: string[] = [];
    for (const [index, nationalId] of patients.entries()) {
      const input = {
        ...withSource(fixture, bulkSource),
        sessionId: `S-BULK-${String(index)}`,
        patient: { nationalId },
      };
      ids.push(await post(service.url, 'hit-sessions', input));
    }
    for (const id of ids) expect((await settled(service.url, id)).status).toBe('failed');

    const api = async (path: string, init?: RequestInit) => {
      const response = await fetch(`${service.url}${path}`, {
        ...init,
        headers: { 'content-type': 'application/json' },
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    // The message browser, 4 a page: every failed one of this source once, newest first.
    type Page = { items: { id: string; acceptedAt: string; failureReason?: string }[]; nextCursor?: string };
    const listed: Page['items'] = [];
    let cursor: string | undefined;
    do {
      const query = new URLSearchParams({
        source: bulkSource,
        status: 'failed',
        failureReason: 'ehr-refused',
        limit: '4',
      });
      if (cursor !== undefined) query.set('cursor', cursor);
      const page = (await api(`/v1/submissions?${query.toString()}`)).body as unknown as Page;
      listed.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    expect(listed.map((item) => item.id)).toEqual([...ids].reverse());
    const summary = (await api('/v1/submissions/summary')).body as {
      failedByReason: { reason: string; count: number }[];
    };
    expect(summary.failedByReason.find((row) => row.reason === 'ehr-refused')?.count).toBeGreaterThanOrEqual(6);

    // Six match; five at most: refused with the count, a dry run too, and nothing re-queued.
    const tooMany = await api('/v1/submissions/replay', {
      method: 'POST',
      body: JSON.stringify({ source: bulkSource, dryRun: true }),
    });
    expect(tooMany.status).toBe(422);
    expect(JSON.stringify(tooMany.body)).toContain('6 failed submissions match; one replay takes at most 5');

    // The cause fixed: the EHR now knows the patients.
    const hpr = (withSource(fixture, bulkSource) as { performer: { hprNumber: string } }).performer.hprNumber;
    for (const nationalId of patients) await registerPeople(ehr, nationalId, [hpr]);

    // The five oldest, then the newest: narrowed by time.
    const newest = listed[0]?.acceptedAt ?? '';
    const older = { source: bulkSource, status: 'failed', until: newest };
    const dry = await api('/v1/submissions/replay', {
      method: 'POST',
      body: JSON.stringify({ ...older, dryRun: true }),
    });
    expect(dry).toEqual({ status: 200, body: { dryRun: true, count: 5, maximum: 5 } });
    const first = await api('/v1/submissions/replay', { method: 'POST', body: JSON.stringify(older) });
    expect([first.status, first.body.count]).toEqual([202, 5]);
    const second = await api('/v1/submissions/replay', {
      method: 'POST',
      body: JSON.stringify({ source: bulkSource, since: newest }),
    });
    expect([second.status, second.body.count]).toEqual([202, 1]);

    for (const id of ids)
      expect((await settled(service.url, id, (status) => status === 'delivered')).status).toBe('delivered');
    const progress = await api(String(first.body.progressUrl));
    expect(progress.body).toMatchObject({ total: 5, delivered: 5, accepted: 0, failed: 0, finished: true });
    // Replaying again finds nothing: they are delivered.
    expect(
      (await api('/v1/submissions/replay', { method: 'POST', body: JSON.stringify({ source: bulkSource }) })).body,
    ).toEqual({ dryRun: false, count: 0 });
    // Exactly once in the EHR: each session's Procedure, by its business identifier.
    for (const [index] of patients.entries()) {
      const input = {
        ...withSource(fixture, bulkSource),
        sessionId: `S-BULK-${String(index)}`,
        patient: { nationalId: patients[index] },
      };
      const bundle = mappers['hit-sessions'](input as never, DEFAULT_MAPPING_OPTIONS);
      const procedure = bundle.entry?.find((entry) => entry.resource?.resourceType === 'Procedure')?.resource as
        { identifier?: { system?: string; value?: string }[] } | undefined;
      const identifier = procedure?.identifier?.[0];
      expect(await countByIdentifier(ehr, 'Procedure', identifier?.system ?? '', identifier?.value ?? '')).toBe(1);
    }
  });
});
