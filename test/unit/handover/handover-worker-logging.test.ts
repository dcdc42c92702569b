/**
 * The EHR's words reach the handover worker's log (why it waits, why a Task update failed), and
 * an EHR may echo the patient in them. The discharge's name, phone and e-mail are scrubbed from
 * every line logged while its job runs, as the delivery worker does for the records.
 */
import { Writable } from 'node:stream';
import type { DischargeInput } from '../../../mappings/inputs.ts';
import type { Ehr, EhrFailure } from '../../../src/delivery/ehr.ts';
import { createEventValidator } from '../../../src/events/event-validator.ts';
import { loadEventSchemas } from '../../../src/events/event-schemas.ts';
import { createLogEventBus } from '../../../src/events/log-event-bus.ts';
import { kafkaChannel } from '../../../src/handover/channels/kafka-channel.ts';
import { ehrFactsSource } from '../../../src/handover/gather-facts.ts';
import { startHandoverWorker } from '../../../src/handover/handover-worker.ts';
import { parseRecipientDirectory } from '../../../src/handover/recipient-directory.ts';
import { loadContracts } from '../../../src/intake/contracts.ts';
import { createInputValidator } from '../../../src/contracts/input-validator.ts';
import { createLogger } from '../../../src/platform/logger.ts';
import { createMetrics } from '../../../src/platform/metrics.ts';
import { createSqliteStore } from '../../../src/store/sqlite-store.ts';
import { handoverCohort, HOSPITAL_CONTACT, recipientDirectoryYaml } from '../../support/handover-cohort.ts';

const GIVEN_NAME = 'Testperson Kari';
const PHONE = '+47 400 00 017';
const EMAIL = 'kari.test@example.no';

/** An EHR that is unavailable and says whom it was asked about. */
function echoingEhr(): Ehr {
  const failure: EhrFailure = {
    retriable: true,
    httpStatus: 503,
    message: `Patient ${GIVEN_NAME} (${PHONE}, ${EMAIL}) is locked by another request`,
    operationOutcome: undefined,
    retryAfterMs: undefined,
  };
  return {
    transaction: () => Promise.resolve({ ok: false, failure }),
    search: () => Promise.resolve({ ok: false, failure }),
    create: () => Promise.resolve({ ok: false, failure }),
    ping: () => Promise.resolve(),
  };
}

describe('handover worker logging', () => {
  it("keeps the patient's name, phone and e-mail out of a line that quotes the EHR", async () => {
    const lines: string[] = [];
    const logger = createLogger({
      level: 'debug',
      pretty: false,
      destination: new Writable({
        write: (chunk: Buffer, _encoding, done) => {
          lines.push(chunk.toString('utf8'));
          done();
        },
      }),
    });
    const store = createSqliteStore({ file: ':memory:' });
    await store.migrate();
    const cohort = handoverCohort('typical', 'privacy-unit');
    const discharge: DischargeInput = {
      ...cohort.discharge,
      patient: { ...cohort.discharge.patient, givenName: GIVEN_NAME, phone: PHONE, email: EMAIL },
    };
    const now = new Date('2026-03-02T12:00:00Z');
    await store.accept(
      {
        id: '00000000-0000-4000-8000-000000000017',
        kind: 'discharges',
        source: discharge.source,
        inputId: discharge.dischargeId,
        bodyHash: 'unit',
        body: discharge,
        patientKey: 'unit-patient-key-unit-patient-key-unit-pat',
        acceptedAt: now,
      },
      { queue: 'handover', payload: {}, runAt: now },
    );
    const directory = parseRecipientDirectory(recipientDirectoryYaml(), 'directory.yaml');
    if (!directory.ok) throw new Error(directory.errors.join('; '));
    const bus = createLogEventBus({ log: store.log, logger, pollIntervalMs: 50 });
    const worker = await startHandoverWorker({
      store,
      bus,
      ehr: echoingEhr(),
      facts: ehrFactsSource(echoingEhr()),
      channels: { kafka: kafkaChannel },
      receiptPolling: { firstMs: 1000, maxMs: 1000 },
      directory: directory.directory,
      hospitalContact: HOSPITAL_CONTACT,
      eventValidator: createEventValidator(loadEventSchemas()),
      inputValidator: createInputValidator(loadContracts().schemas),
      retryPolicy: {
        initialDelayMs: 60_000,
        maxDelayMs: 60_000,
        multiplier: 1,
        horizonMs: 3_600_000,
        maxRetryAfterMs: 60_000,
      },
      metrics: createMetrics({ defaultMetrics: false }),
      consumerGroup: 'privacy-unit',
      statusTopic: 'privacy-unit-status',
      ackTimeoutMs: 3_600_000,
      clock: () => now,
      logger,
      owner: 'privacy-unit',
      idleMs: 20,
    });
    try {
      const deadline = Date.now() + 5000;
      while (!lines.some((line) => line.includes('is locked by another request')) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      await worker.stop();
      await bus.close();
      await store.close();
    }
    const quoting = lines.filter((line) => line.includes('is locked by another request'));
    expect(quoting).toHaveLength(1);
    expect(quoting[0]).toContain('[redacted]');
    for (const value of [GIVEN_NAME, PHONE, PHONE.replace(/\D/gu, ''), EMAIL]) {
      expect(lines.filter((line) => line.includes(value))).toEqual([]);
    }
  });
});
