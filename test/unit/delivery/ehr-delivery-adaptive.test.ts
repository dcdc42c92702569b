/**
 * The delivery worker against an EHR that can take two Bundles at a time and answers 503 to a
 * third: with the adaptive limit it backs off and meets far fewer refusals than with the same
 * fixed concurrency, and every Bundle is delivered either way.
 */
import { randomUUID } from 'node:crypto';
import type { PrescriptionInput } from '../../../mappings/inputs.ts';
import { mappers } from '../../../mappings/registry.ts';
import { startEhrDeliveryWorker } from '../../../src/delivery/ehr-delivery-worker.ts';
import type { Ehr } from '../../../src/delivery/ehr.ts';
import { loadEventSchemas } from '../../../src/events/event-schemas.ts';
import { createEventValidator } from '../../../src/events/event-validator.ts';
import { createPatientKeyer } from '../../../src/events/patient-key.ts';
import { createMetrics } from '../../../src/platform/metrics.ts';
import { createSqliteStore } from '../../../src/store/sqlite-store.ts';
import type { RunningWorker } from '../../../src/store/worker-loop.ts';
import { createFakeEhr } from '../../support/fake-ehr.ts';
import { fixtureCases, readInput } from '../../support/fixtures.ts';
import { silentLogger } from '../../support/silent-logger.ts';
import { until } from '../../support/until.ts';

const CAPACITY = 2;
const PRESCRIPTIONS = 24;

/** The fake EHR behind a door that lets CAPACITY requests in at once, each taking 15 ms; the rest get 503. */
function narrowEhr(): { ehr: Ehr; refused: () => number; most: () => number } {
  const inner = createFakeEhr();
  let inFlight = 0;
  let refused = 0;
  let most = 0;
  const slow = <T>(answer: () => Promise<T>, busy: () => T): Promise<T> => {
    if (inFlight >= CAPACITY) {
      refused += 1;
      return Promise.resolve(busy());
    }
    inFlight += 1;
    most = Math.max(most, inFlight);
    return new Promise((resolve) => setTimeout(resolve, 15)).then(answer).finally(() => {
      inFlight -= 1;
    });
  };
  const unavailable = {
    ok: false as const,
    failure: {
      retriable: true,
      httpStatus: 503,
      message: 'busy',
      operationOutcome: undefined,
      retryAfterMs: undefined,
    },
  };
  return {
    ehr: {
      transaction: (bundle, signal) =>
        slow(
          () => inner.transaction(bundle, signal),
          () => unavailable,
        ),
      search: (type, params, signal) =>
        slow(
          () => inner.search(type, params, signal),
          () => unavailable,
        ),
      create: (resource, ifNoneExist, signal) =>
        slow(
          () => inner.create(resource, ifNoneExist, signal),
          () => unavailable,
        ),
      ping: (signal) => inner.ping(signal),
    },
    refused: () => refused,
    most: () => most,
  };
}

const running: RunningWorker[] = [];
afterEach(async () => {
  for (const worker of running.splice(0)) await worker.stop();
});

async function deliverAll(adaptive: boolean): Promise<{ refused: number; most: number }> {
  const narrow = narrowEhr();
  const store = createSqliteStore({ file: ':memory:' });
  await store.migrate();
  const found = fixtureCases(['prescriptions']).find((candidate) => candidate.name === 'typical-4x4-strength');
  if (found === undefined) throw new Error('no prescription fixture');
  const template = readInput(found) as PrescriptionInput;
  const source = `clinic-${randomUUID().slice(0, 8)}`;
  const keyer = createPatientKeyer('unit-test-secret-unit-test-secret');
  const ids: string[] = [];
  for (let index = 0; index < PRESCRIPTIONS; index += 1) {
    const prescription = { ...template, source, prescriptionId: `RX-AD-${String(index)}` };
    const id = randomUUID();
    const now = new Date();
    await store.accept(
      {
        id,
        kind: 'prescriptions',
        source,
        inputId: prescription.prescriptionId,
        bodyHash: id,
        body: prescription,
        patientKey: keyer(prescription.patient.nationalId),
        acceptedAt: now,
      },
      { queue: 'ehr-delivery', payload: {}, runAt: now },
    );
    ids.push(id);
  }
  running.push(
    startEhrDeliveryWorker({
      store,
      ehr: narrow.ehr,
      ehrBaseUrl: undefined,
      mappers,
      eventValidator: createEventValidator(loadEventSchemas()),
      retryPolicy: {
        initialDelayMs: 20,
        maxDelayMs: 40,
        multiplier: 2,
        horizonMs: 86_400_000,
        maxRetryAfterMs: 40,
      },
      clock: () => new Date(),
      logger: silentLogger,
      metrics: createMetrics({ defaultMetrics: false }),
      owner: 'unit',
      idleMs: 10,
      concurrency: 8,
      batchSize: PRESCRIPTIONS,
      adaptive,
    }),
  );
  await until(
    'every prescription delivered',
    async () => {
      const statuses = await Promise.all(ids.map(async (id) => (await store.getSubmission(id))?.status));
      return statuses.every((status) => status === 'delivered');
    },
    30_000,
  );
  return { refused: narrow.refused(), most: narrow.most() };
}

describe('the delivery worker against an EHR that refuses what it cannot take', () => {
  it('with the adaptive limit backs off: every Bundle delivered, and far fewer 503s than at a fixed 8', async () => {
    const fixed = await deliverAll(false);
    const adaptive = await deliverAll(true);
    expect(fixed.most).toBe(CAPACITY);
    expect(adaptive.most).toBe(CAPACITY);
    // At a fixed 8, six of every eight starts meet a full EHR; the adaptive worker halves towards 2 and then
    // probes above it now and then (one more per round while answers come in good time), meeting a 503 each time.
    expect(fixed.refused).toBeGreaterThanOrEqual(PRESCRIPTIONS);
    expect(adaptive.refused).toBeLessThan(fixed.refused / 2);
  });
});
