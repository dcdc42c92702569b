// The ehr-delivery worker in-process on a real SQLite store in memory and an EHR in memory
// (test/support/fake-ehr.ts): how a session whose prescription this bridge has never seen is
// handled. Whether the EHR holds the prescription is looked up by its identifier, never read from
// the wording of an EHR error.
import { randomUUID } from 'node:crypto';
import {
  DEFAULT_MAPPING_OPTIONS,
  searchToken,
  businessIdentifier,
  type MappingOptions,
} from '../../../mappings/common.ts';
import { DIPS } from '../../../mappings/terminology.ts';
import type { HitSessionInput, PrescriptionInput } from '../../../mappings/inputs.ts';
import { mappers } from '../../../mappings/registry.ts';
import { startEhrDeliveryWorker } from '../../../src/delivery/ehr-delivery-worker.ts';
import type { EhrFailure } from '../../../src/delivery/ehr.ts';
import { loadEventSchemas } from '../../../src/events/event-schemas.ts';
import { createEventValidator } from '../../../src/events/event-validator.ts';
import { createPatientKeyer } from '../../../src/events/patient-key.ts';
import { createMetrics } from '../../../src/platform/metrics.ts';
import type { RetryPolicy } from '../../../src/platform/retry.ts';
import { createSqliteStore } from '../../../src/store/sqlite-store.ts';
import type { Store } from '../../../src/store/store.ts';
import type { RunningWorker } from '../../../src/store/worker-loop.ts';
import { storeLikeEhr } from '../../support/ehr-view.ts';
import { createFakeEhr, TRANSIENT, type FakeEhr } from '../../support/fake-ehr.ts';
import { fixtureCases, readInput } from '../../support/fixtures.ts';
import { silentLogger } from '../../support/silent-logger.ts';
import { until } from '../../support/until.ts';

const QUICK: RetryPolicy = {
  initialDelayMs: 20,
  maxDelayMs: 40,
  multiplier: 2,
  horizonMs: 86_400_000,
  maxRetryAfterMs: 40,
};

/** What HAPI answers for a conditional reference that matches nothing: the worker must not read it. */
const HAPI_NO_MATCH: EhrFailure = {
  retriable: false,
  httpStatus: 404,
  message: 'HAPI-1091: Invalid match URL "ServiceRequest?identifier=x|y" - No resources match this search',
  operationOutcome: undefined,
  retryAfterMs: undefined,
};

function fixture(kind: 'hit-sessions' | 'prescriptions', name: string): unknown {
  const found = fixtureCases([kind]).find((candidate) => candidate.name === name);
  if (found === undefined) throw new Error(`no fixture ${kind}/${name}`);
  return readInput(found);
}

const running: RunningWorker[] = [];
afterEach(async () => {
  for (const worker of running.splice(0)) await worker.stop();
});

/** Accepts the typical session under a source of its own (its prescription unknown to the store), then starts the worker. */
async function start(
  ehr: FakeEhr,
  before: (prescription: PrescriptionInput) => void = () => undefined,
  mappingOptions: MappingOptions = DEFAULT_MAPPING_OPTIONS,
  extra: Partial<HitSessionInput> = {},
  /** What the worker is given in place of the store (to watch its calls). */
  seenByWorker: (store: Store) => Store = (store) => store,
): Promise<{ store: Store; prescription: PrescriptionInput; id: string }> {
  const source = `clinic-${randomUUID().slice(0, 8)}`;
  const session = { ...(fixture('hit-sessions', 'typical-4x4') as HitSessionInput), source, ...extra };
  const prescription = { ...(fixture('prescriptions', 'typical-4x4-strength') as PrescriptionInput), source };
  before(prescription);
  const store = createSqliteStore({ file: ':memory:' });
  await store.migrate();
  const id = randomUUID();
  const now = new Date();
  await store.accept(
    {
      id,
      kind: 'hit-sessions',
      source,
      inputId: session.sessionId,
      bodyHash: id,
      body: session,
      patientKey: createPatientKeyer('unit-test-secret-unit-test-secret')(session.patient.nationalId),
      acceptedAt: now,
    },
    { queue: 'ehr-delivery', payload: {}, runAt: now },
  );
  running.push(
    startEhrDeliveryWorker({
      store: seenByWorker(store),
      ehr,
      ehrBaseUrl: undefined,
      mappers,
      mappingOptions,
      eventValidator: createEventValidator(loadEventSchemas()),
      retryPolicy: QUICK,
      clock: () => new Date(),
      logger: silentLogger,
      metrics: createMetrics({ defaultMetrics: false }),
      owner: 'unit',
      idleMs: 10,
    }),
  );
  return { store, prescription, id };
}

/** The prescription's resources as an EHR holds them after it arrived by another way. */
function prescriptionAsHeld(prescription: PrescriptionInput) {
  return storeLikeEhr([mappers.prescriptions(prescription, DEFAULT_MAPPING_OPTIONS)]);
}

const transactions = (ehr: FakeEhr) => ehr.calls.filter((call) => call.method === 'transaction').length;

describe('a session whose prescription this bridge has not seen', () => {
  it('waits without posting while a search of the EHR by identifier finds no ServiceRequest, and is delivered once one is there', async () => {
    const ehr = createFakeEhr();
    const { store, prescription, id } = await start(ehr);
    await until('a waiting note', async () =>
      (await store.timeline(id)).some(
        (entry) => entry.kind === 'note' && /no prescription RX-2026-0001 yet/.test(entry.message),
      ),
    );
    expect(transactions(ehr)).toBe(0);
    const identifier = businessIdentifier(prescription.source, 'prescription', prescription.prescriptionId);
    expect(ehr.calls).toContainEqual({
      method: 'search',
      resourceType: 'ServiceRequest',
      params: { identifier: searchToken(identifier) },
    });

    ehr.hold(prescriptionAsHeld(prescription));
    await until('delivered', async () => (await store.getSubmission(id))?.status === 'delivered');
    expect(transactions(ehr)).toBe(1);
  });

  it('posts at once when the EHR holds the ServiceRequest, and fails on a 404 however its text reads', async () => {
    const ehr = createFakeEhr();
    ehr.failNext('transaction', HAPI_NO_MATCH);
    const { store, id } = await start(ehr, (prescription) => {
      ehr.hold(prescriptionAsHeld(prescription));
    });
    await until('failed', async () => (await store.getSubmission(id))?.status === 'failed');
    const failed = (await store.timeline(id)).find((entry) => entry.kind === 'failed');
    expect(failed?.message).toMatch(/^The EHR refused the record: .*HAPI-1091/);
    expect((await store.timeline(id)).some((entry) => entry.kind === 'note')).toBe(false);
  });

  it('retries when the search itself fails, as any EHR failure', async () => {
    const ehr = createFakeEhr();
    ehr.failNext('search', TRANSIENT);
    const { store, prescription, id } = await start(ehr);
    await until('an attempt on the timeline', async () =>
      (await store.timeline(id)).some((entry) => entry.kind === 'ehr-attempt' && /503/.test(entry.message)),
    );
    ehr.hold(prescriptionAsHeld(prescription));
    await until('delivered', async () => (await store.getSubmission(id))?.status === 'delivered');
  });
});

describe('recording a delivery', () => {
  it('commits the completion without waiting for the disk: a power loss that undoes it means a redelivery, which creates nothing new', async () => {
    const ehr = createFakeEhr();
    const completions: { waitForDisk?: boolean }[] = [];
    const { store, id } = await start(
      ehr,
      (prescription) => {
        ehr.hold(prescriptionAsHeld(prescription));
      },
      DEFAULT_MAPPING_OPTIONS,
      {},
      (real) => ({
        ...real,
        complete: (job, effects, now, options) => {
          completions.push({ ...options });
          return real.complete(job, effects, now, options);
        },
      }),
    );
    await until('delivered', async () => (await store.getSubmission(id))?.status === 'delivered');
    expect(completions).toEqual([{ waitForDisk: false }]);
  });
});

describe('the dips-arena EHR profile', () => {
  const DIPS_ARENA: MappingOptions = { ehrProfile: 'dips-arena', ncmpDipsCoding: false };

  it('searches by the business identifier, then creates the one Procedure: no transaction, no Provenance, no wait for the prescription', async () => {
    const ehr = createFakeEhr();
    const { store, id } = await start(ehr, undefined, DIPS_ARENA, { episodeId: '9000001' });
    await until('delivered', async () => (await store.getSubmission(id))?.status === 'delivered');
    expect(ehr.calls.map((call) => `${call.method} ${'resourceType' in call ? call.resourceType : ''}`)).toEqual([
      'search Procedure',
      'create ',
    ]);
    const created = ehr.calls.find((call) => call.method === 'create');
    if (created?.method !== 'create') throw new Error('no create');
    expect(created.ifNoneExist).toBeUndefined();
    expect(created.resource.meta?.profile).toEqual([DIPS.procedureProfile]);
    expect((await store.getSubmission(id))?.ehrReferences).toHaveLength(1);
  });

  it('delivers a prescription with nothing sent to the EHR, and says so on its timeline', async () => {
    const ehr = createFakeEhr();
    const store = createSqliteStore({ file: ':memory:' });
    await store.migrate();
    const prescription = {
      ...(fixture('prescriptions', 'typical-4x4-strength') as PrescriptionInput),
      episodeId: '9000001',
    };
    const id = randomUUID();
    const now = new Date();
    await store.accept(
      {
        id,
        kind: 'prescriptions',
        source: prescription.source,
        inputId: prescription.prescriptionId,
        bodyHash: id,
        body: prescription,
        patientKey: createPatientKeyer('unit-test-secret-unit-test-secret')(prescription.patient.nationalId),
        acceptedAt: now,
      },
      { queue: 'ehr-delivery', payload: {}, runAt: now },
    );
    running.push(
      startEhrDeliveryWorker({
        store,
        ehr,
        ehrBaseUrl: undefined,
        mappers,
        mappingOptions: DIPS_ARENA,
        eventValidator: createEventValidator(loadEventSchemas()),
        retryPolicy: QUICK,
        clock: () => new Date(),
        logger: silentLogger,
        metrics: createMetrics({ defaultMetrics: false }),
        owner: 'unit',
        idleMs: 10,
      }),
    );
    await until('delivered', async () => (await store.getSubmission(id))?.status === 'delivered');
    expect(ehr.calls).toEqual([]);
    const delivered = (await store.timeline(id)).find((entry) => entry.kind === 'delivered');
    expect(delivered?.message).toMatch(/nothing was sent to the EHR/);
  });

  it('fails, without sending, a session accepted under another profile without episodeId', async () => {
    const ehr = createFakeEhr();
    const { store, id } = await start(ehr, undefined, DIPS_ARENA);
    await until('failed', async () => (await store.getSubmission(id))?.status === 'failed');
    expect(ehr.calls).toEqual([]);
    const failed = (await store.timeline(id)).find((entry) => entry.kind === 'failed');
    expect(failed?.message).toMatch(/episodeId/);
  });
});
