// The handover role in-process (src/handover/handover-worker.ts) on a real SQLite store in memory,
// its event log as the bus, the event relay, and an EHR in memory (test/support/fake-ehr.ts): a
// discharge is accepted as the API accepts it, and what a user notices is checked — the packets
// on the bus, the referral Task in the EHR, the status timeline, the counts on /metrics.
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Task } from 'fhir/r4.js';
import type { DischargeInput } from '../../../mappings/inputs.ts';
import { EVENT_TYPES, TOPICS } from '../../../src/events/cloud-events.ts';
import type { EventBus, OutgoingEvent } from '../../../src/events/event-bus.ts';
import { loadEventSchemas } from '../../../src/events/event-schemas.ts';
import { createEventValidator, type EventValidator } from '../../../src/events/event-validator.ts';
import { startEventRelayWorker } from '../../../src/events/event-relay-worker.ts';
import { createLogEventBus } from '../../../src/events/log-event-bus.ts';
import { createPatientKeyer } from '../../../src/events/patient-key.ts';
import { buildDischargeRequestedEvent, handoverOutgoing } from '../../../src/events/discharge-requested.ts';
import type { EdiMessageService } from '../../../src/delivery/edi-message-service.ts';
import { createEdiChannel } from '../../../src/handover/channels/edi-channel.ts';
import { createFhirChannel } from '../../../src/handover/channels/fhir-channel.ts';
import { kafkaChannel } from '../../../src/handover/channels/kafka-channel.ts';
import { EXAMPLE_SENDER, exampleHandoverFacts } from '../../../src/handover/edi/example-handover.ts';
import { buildHandoverPackets } from '../../../src/handover/packets.ts';
import { SCHEMAS, validateAgainstXsd } from '../../support/xmllint.ts';
import { createFakeMessageService, EDI_REFUSED, EDI_TRANSIENT } from '../../support/fake-message-service.ts';
import { ehrFactsSource } from '../../../src/handover/gather-facts.ts';
import { startHandoverWorker, type RunningHandover } from '../../../src/handover/handover-worker.ts';
import { parseRecipientDirectory } from '../../../src/handover/recipient-directory.ts';
import { referralIdentifiers } from '../../../src/handover/referral.ts';
import { loadContracts } from '../../../src/intake/contracts.ts';
import { createInputValidator } from '../../../src/contracts/input-validator.ts';
import { createLogger, type Logger } from '../../../src/platform/logger.ts';
import { createMetrics, METRIC_NAMES } from '../../../src/platform/metrics.ts';
import type { RetryPolicy } from '../../../src/platform/retry.ts';
import type { RunningWorker } from '../../../src/store/worker-loop.ts';
import { createSqliteStore } from '../../../src/store/sqlite-store.ts';
import type { Store, StoredLogRecord } from '../../../src/store/store.ts';
import { cohortInEhr, createFakeEhr, REFUSED, TRANSIENT, type FakeEhr } from '../../support/fake-ehr.ts';
import {
  FRISKLIVSSENTRAL,
  handoverCohort,
  HOSPITAL_CONTACT,
  recipientDirectoryYaml,
  type CohortVariant,
} from '../../support/handover-cohort.ts';
import { until } from '../../support/until.ts';

const silent = createLogger({ level: 'silent', pretty: false });
const eventValidator = createEventValidator(loadEventSchemas());
const inputValidator = createInputValidator(loadContracts().schemas);
const patientKey = createPatientKeyer('unit-test-secret-unit-test-secret');
const STATUS_TOPIC = 'unit.handover.status';
const FLS_ENDPOINT = 'https://frisklivssentral.example.no/fhir';
/** Waits of milliseconds, so retries happen within the test; a day's horizon, so none gives up unless told. */
const QUICK: RetryPolicy = {
  initialDelayMs: 20,
  maxDelayMs: 40,
  multiplier: 2,
  horizonMs: 86_400_000,
  maxRetryAfterMs: 40,
};

interface Options {
  readonly variant?: CohortVariant;
  /** What the EHR holds at the start: everything, or everything but the prescription. */
  readonly ehrHolds?: 'all' | 'no-prescription';
  /** The Frisklivssentral has a FHIR endpoint (an EHR in memory of its own). */
  readonly endpoint?: boolean;
  readonly ackTimeoutMs?: number;
  readonly retryPolicy?: RetryPolicy;
  /** Wraps the bus the relay publishes through. */
  readonly relayBus?: (bus: EventBus) => EventBus;
  /** The configured hospital contact (default: the cohort's); `null`: none configured. */
  readonly hospitalContact?: null;
  /** Discharges (ids) stored with their handover job before the workers start: one batch for the first claim. */
  readonly preloaded?: readonly string[];
  /** Changes the store or the EHR before the workers start (fault injection). */
  readonly tamper?: (store: Store, ehr: FakeEhr) => void;
  /** Wraps the event validator the handover worker checks its events with. */
  readonly validator?: (validator: EventValidator) => EventValidator;
  /** The handover worker's logger (default: silent). */
  readonly logger?: Logger;
  /** Overdue handovers per check (default: the worker's). */
  readonly overdueBatchSize?: number;
  /** The Frisklivssentral is reached over EDI, through this message service. */
  readonly edi?: EdiMessageService;
}

interface Harness {
  readonly store: Store;
  readonly bus: EventBus;
  readonly ehr: FakeEhr;
  readonly endpoint: FakeEhr;
  readonly discharge: DischargeInput;
  readonly prescription: ReturnType<typeof cohortInEhr>['prescription'];
  readonly metrics: ReturnType<typeof createMetrics>;
  /** Accepts the discharge as POST /v1/discharges does; its id. */
  accept(): Promise<string>;
  /** The records of a topic about this handover. */
  records(topic: string, handoverId: string): Promise<StoredLogRecord[]>;
  timelineKinds(id: string): Promise<string[]>;
  stop(): Promise<void>;
}

const running: Harness[] = [];
afterEach(async () => {
  for (const harness of running.splice(0)) await harness.stop();
});

async function start(options: Options = {}): Promise<Harness> {
  const cohort = handoverCohort(options.variant ?? 'typical', `clinic-${randomUUID().slice(0, 8)}`);
  const held = cohortInEhr(cohort);
  const ehr = createFakeEhr([
    held.patient,
    ...(options.ehrHolds === 'no-prescription' ? [] : held.prescription),
    ...held.stay,
  ]);
  const endpoint = createFakeEhr();
  const store = createSqliteStore({ file: ':memory:' });
  await store.migrate();
  const bus = createLogEventBus({ log: store.log, logger: silent, pollIntervalMs: 10, retryDelayMs: () => 10 });
  const parsed = parseRecipientDirectory(
    recipientDirectoryYaml(
      options.endpoint === true ? { fhirEndpoint: FLS_ENDPOINT } : options.edi === undefined ? {} : { channel: 'edi' },
    ),
    'directory.yaml',
  );
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  const metrics = createMetrics({ defaultMetrics: false, minCollectIntervalMs: 0 });
  const clock = (): Date => new Date();
  for (const dischargeId of options.preloaded ?? []) {
    const now = clock();
    const id = randomUUID();
    await store.accept(
      {
        id,
        kind: 'discharges',
        source: cohort.discharge.source,
        inputId: dischargeId,
        bodyHash: dischargeId,
        body: { ...cohort.discharge, dischargeId },
        patientKey: patientKey(cohort.discharge.patient.nationalId),
        acceptedAt: now,
      },
      { queue: 'handover', payload: {}, runAt: now },
    );
    // Its state row, as the discharge consumer would have begun it (the job is already there).
    await store.beginHandover(id, {}, now);
  }
  options.tamper?.(store, ehr);
  const workers: (RunningWorker | RunningHandover)[] = [
    startEventRelayWorker({
      store,
      bus: options.relayBus?.(bus) ?? bus,
      retryPolicy: QUICK,
      clock,
      logger: silent,
      metrics,
      owner: 'unit-relay',
      idleMs: 10,
    }),
    await startHandoverWorker({
      store,
      bus,
      ehr,
      facts: ehrFactsSource(ehr),
      channels: {
        kafka: kafkaChannel,
        fhir: createFhirChannel((baseUrl) => {
          if (baseUrl !== FLS_ENDPOINT) throw new Error(`no endpoint ${baseUrl}`);
          return endpoint;
        }),
        ...(options.edi === undefined
          ? {}
          : { edi: createEdiChannel({ messageService: options.edi, sender: EXAMPLE_SENDER, clock }) }),
      },
      receiptPolling: { firstMs: 20, maxMs: 50 },
      directory: parsed.directory,
      hospitalContact: options.hospitalContact === null ? undefined : HOSPITAL_CONTACT,
      eventValidator: options.validator?.(eventValidator) ?? eventValidator,
      inputValidator,
      retryPolicy: options.retryPolicy ?? QUICK,
      metrics,
      consumerGroup: 'unit-handover',
      statusTopic: STATUS_TOPIC,
      ackTimeoutMs: options.ackTimeoutMs ?? 3_600_000,
      overdueCheckMs: 20,
      ...(options.overdueBatchSize === undefined ? {} : { overdueBatchSize: options.overdueBatchSize }),
      clock,
      logger: options.logger ?? silent,
      owner: 'unit',
      idleMs: 10,
    }),
  ];
  const harness: Harness = {
    store,
    bus,
    ehr,
    endpoint,
    discharge: cohort.discharge,
    prescription: held.prescription,
    metrics,
    async accept() {
      const id = randomUUID();
      const now = clock();
      const key = patientKey(cohort.discharge.patient.nationalId);
      const event = buildDischargeRequestedEvent(
        {
          submissionId: id,
          source: cohort.discharge.source,
          dischargeId: cohort.discharge.dischargeId,
          patientKey: key,
        },
        cohort.discharge,
        now,
      );
      const outcome = await store.accept(
        {
          id,
          kind: 'discharges',
          source: cohort.discharge.source,
          inputId: cohort.discharge.dischargeId,
          bodyHash: 'unit',
          body: cohort.discharge,
          patientKey: key,
          acceptedAt: now,
        },
        { queue: 'event-publish', payload: handoverOutgoing(event, key), runAt: now },
      );
      if (outcome.outcome !== 'created') throw new Error(`discharge not created: ${outcome.outcome}`);
      return id;
    },
    async records(topic, handoverId) {
      return (await store.log.read(topic, 0, 1000)).filter((record) => {
        const data = (JSON.parse(record.value) as { data?: { handoverId?: string } }).data;
        return data?.handoverId === handoverId;
      });
    },
    async timelineKinds(id) {
      return (await store.timeline(id)).map((entry) => entry.kind);
    },
    async stop() {
      for (const worker of workers) await worker.stop();
      await bus.close();
      await store.close();
    },
  };
  running.push(harness);
  return harness;
}

const recipientOf = (record: StoredLogRecord): string =>
  (JSON.parse(record.value) as { data: { recipient: string } }).data.recipient;
const cloudEventIdOf = (record: StoredLogRecord): string => (JSON.parse(record.value) as { id: string }).id;

async function sentPackets(harness: Harness, id: string, count: number): Promise<StoredLogRecord[]> {
  await until(`${String(count)} packets on ${TOPICS.handoverPackets}`, async () => {
    return (await harness.records(TOPICS.handoverPackets, id)).length >= count;
  });
  return harness.records(TOPICS.handoverPackets, id);
}

/** Every event the outbox holds is on the bus: nothing more is coming unless something new happens. */
const relayIdle = async (harness: Harness): Promise<void> => {
  await until(
    'the event relay idle',
    async () => (await harness.store.backlog(new Date()))['event-publish'].count === 0,
  );
};

/** The handover made (packets queued) and its packets on the bus. */
async function handedOver(harness: Harness, id: string): Promise<void> {
  await until('the handover sent', async () => (await harness.store.getHandover(id))?.packetsSentAt !== undefined);
  await relayIdle(harness);
}

const tasksOf = (harness: Harness): Task[] =>
  harness.ehr.withIdentifier(
    'Task',
    referralIdentifiers(harness.discharge.source, harness.discharge.dischargeId).task,
  ) as Task[];

async function metric(harness: Harness, name: string): Promise<string | undefined> {
  const { body } = await harness.metrics.scrape();
  return body
    .split('\n')
    .find((line) => line.startsWith(`${name} `))
    ?.slice(name.length + 1);
}

describe('handover worker', () => {
  it("sends both packets, creates the referral Task owned by the Frisklivssentral's HER-id, and marks the discharge delivered", async () => {
    const harness = await start();
    const id = await harness.accept();
    const packets = await sentPackets(harness, id, 2);
    expect(packets.map(recipientOf).sort()).toEqual(['frisklivssentral', 'training-contact']);

    const tasks = tasksOf(harness);
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({
      status: 'requested',
      owner: { identifier: { system: 'urn:oid:2.16.578.1.12.4.1.2', value: '8012345' } },
    });
    await until('the discharge delivered', async () => (await harness.store.getSubmission(id))?.status === 'delivered');
    expect(await harness.store.getHandover(id)).toMatchObject({ taskReference: `Task/${tasks[0]?.id ?? ''}` });
    expect(await harness.timelineKinds(id)).toEqual(
      expect.arrayContaining(['handover-started', 'task-created', 'packet-sent', 'delivered']),
    );
    expect(await harness.store.handoversAwaitingAcknowledgement()).toBe(1);
  });

  it('waits while the EHR has no prescription, sending nothing, and sends once it has arrived', async () => {
    const harness = await start({ ehrHolds: 'no-prescription' });
    const id = await harness.accept();
    await until(
      'a few attempts',
      () =>
        harness.ehr.calls.filter((call) => call.method === 'search' && call.resourceType === 'ServiceRequest').length >=
        3,
    );
    // Waiting: no packet, no Task, no empty document; the status says why.
    expect(await harness.records(TOPICS.handoverPackets, id)).toEqual([]);
    expect(harness.ehr.calls.filter((call) => call.method === 'transaction')).toEqual([]);
    expect((await harness.store.getHandover(id))?.packetsSentAt).toBeUndefined();
    expect((await harness.store.getSubmission(id))?.status).toBe('accepted');
    const waiting = (await harness.store.timeline(id)).filter((entry) => entry.kind === 'handover-attempt');
    expect(waiting[0]?.message).toContain(`the EHR has no prescription ${harness.discharge.prescriptionId}`);

    harness.ehr.hold(harness.prescription);
    const packets = await sentPackets(harness, id, 2);
    expect(packets.map(recipientOf).sort()).toEqual(['frisklivssentral', 'training-contact']);
    expect(tasksOf(harness)).toHaveLength(1);
  });

  it('gives up, visibly, when the prescription has not arrived within the retry horizon', async () => {
    const harness = await start({ ehrHolds: 'no-prescription', retryPolicy: { ...QUICK, horizonMs: 200 } });
    const id = await harness.accept();
    await until('the discharge failed', async () => (await harness.store.getSubmission(id))?.status === 'failed');
    const failed = (await harness.store.timeline(id)).find((entry) => entry.kind === 'failed');
    expect(failed?.message).toMatch(/^Gave up: waiting for the EHR: the EHR has no prescription/);
    expect(await harness.records(TOPICS.handoverPackets, id)).toEqual([]);
    expect(await harness.store.handoversAwaitingAcknowledgement()).toBe(0);
  });

  it('without consent for the training contact sends only the Frisklivssentral packet, and the timeline says why', async () => {
    const harness = await start({ variant: 'training-contact-declined' });
    const id = await harness.accept();
    await handedOver(harness, id);
    expect((await harness.records(TOPICS.handoverPackets, id)).map(recipientOf)).toEqual(['frisklivssentral']);
    expect(await harness.store.timeline(id)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          kind: 'packet-omitted',
          message: 'No packet for the training contact: the patient did not consent.',
        }),
      ]),
    );
  });

  it('without consent for the Frisklivssentral creates no referral Task and awaits no answer; the training contact still gets the plan', async () => {
    const harness = await start({ variant: 'frisklivssentral-declined', endpoint: true });
    const id = await harness.accept();
    await handedOver(harness, id);
    expect((await harness.records(TOPICS.handoverPackets, id)).map(recipientOf)).toEqual(['training-contact']);
    expect(harness.ehr.calls.filter((call) => call.method === 'transaction')).toEqual([]);
    expect(harness.endpoint.calls).toEqual([]);
    expect((await harness.store.getHandover(id))?.taskReference).toBeUndefined();
    expect(await harness.store.handoversAwaitingAcknowledgement()).toBe(0);
  });

  it("creates the referral Task once when the handover runs again after the Frisklivssentral's endpoint failed", async () => {
    const harness = await start({ endpoint: true });
    harness.endpoint.failNext('create', TRANSIENT, 2);
    const id = await harness.accept();
    await sentPackets(harness, id, 2);
    // Three runs: the referral sent each time (a conditional create), the document taken on the third.
    expect(harness.ehr.calls.filter((call) => call.method === 'transaction')).toHaveLength(3);
    expect(tasksOf(harness)).toHaveLength(1);
    expect(harness.endpoint.calls).toHaveLength(3);
    expect(harness.endpoint.resources.filter((r) => r.resourceType === 'Bundle')).toHaveLength(1);
    const created = (await harness.store.timeline(id)).filter((entry) => entry.kind === 'task-created');
    expect(created.map((entry) => entry.message)).toEqual([expect.stringMatching(/ already in the EHR /)]);
  });

  it("fails the handover with the EHR's words when it refuses a search, and retries while it is only unavailable", async () => {
    const harness = await start();
    harness.ehr.failNext('search', TRANSIENT, 3);
    const waited = await harness.accept();
    await sentPackets(harness, waited, 2);
    expect(await harness.timelineKinds(waited)).toContain('handover-attempt');

    const refused = await start();
    refused.ehr.failNext('search', REFUSED);
    const id = await refused.accept();
    await until('the discharge failed', async () => (await refused.store.getSubmission(id))?.status === 'failed');
    const failed = (await refused.store.timeline(id)).find((entry) => entry.kind === 'failed');
    expect(failed?.message).toBe(
      'The handover failed searching the EHR: answered 400 — Unknown search parameter (fake).',
    );
    expect(await refused.records(TOPICS.handoverPackets, id)).toEqual([]);
  });

  /** The ids of the preloaded discharges. */
  const preloadedIds = (harness: Harness, dischargeIds: readonly string[]): Promise<string[]> =>
    Promise.all(
      dischargeIds.map(
        async (dischargeId) =>
          (await harness.store.findSubmission(harness.discharge.source, 'discharges', dischargeId))?.id ?? '',
      ),
    );
  const sentOf = async (harness: Harness, ids: readonly string[]): Promise<boolean[]> =>
    (await Promise.all(ids.map((id) => harness.store.getHandover(id)))).map(
      (state) => state?.packetsSentAt !== undefined,
    );

  it('goes on with the other handovers of a batch while the store fails for one, instead of leaving them leased', async () => {
    let failures = 0;
    const harness = await start({
      preloaded: ['D-first', 'D-second'],
      // The store is gone for a moment: the first job can neither run nor record a retry. The
      // default lease (2 minutes) brings it back far beyond this test's wait.
      tamper: (store) => {
        const getSubmission = store.getSubmission.bind(store);
        store.getSubmission = (id) => {
          failures += 1;
          return failures <= 2 ? Promise.reject(new Error('connection reset (on purpose)')) : getSubmission(id);
        };
      },
    });
    const ids = await preloadedIds(harness, ['D-first', 'D-second']);
    await until('one of the two handed over', async () => (await sentOf(harness, ids)).includes(true));
    expect(failures).toBeGreaterThan(2);
  });

  it('retries a handover that threw soon, with the policy, and goes on with the rest of its batch', async () => {
    let thrown = false;
    const harness = await start({
      preloaded: ['D-first', 'D-second'],
      tamper: (_store, ehr) => {
        const search = ehr.search.bind(ehr);
        ehr.search = (...args) => {
          if (thrown) return search(...args);
          thrown = true;
          return Promise.reject(new Error('unexpected fault (on purpose)'));
        };
      },
    });
    const ids = await preloadedIds(harness, ['D-first', 'D-second']);
    await until('both handed over', async () => (await sentOf(harness, ids)).every(Boolean));
    expect(thrown).toBe(true);
    const kinds = await Promise.all(ids.map((id) => harness.timelineKinds(id)));
    expect(kinds.filter((list) => list.includes('handover-attempt'))).toHaveLength(1);
  });

  it('records an unexpected fault on the timeline and retries it with the policy, giving up visibly at the horizon', async () => {
    // The discharge names no hospital contact and none is configured any more (intake checked it
    // against the configuration of its day): the worker cannot make the packets.
    const harness = await start({ hospitalContact: null, retryPolicy: { ...QUICK, horizonMs: 300 } });
    const id = await harness.accept();
    await until('the discharge failed', async () => (await harness.store.getSubmission(id))?.status === 'failed');
    const timeline = await harness.store.timeline(id);
    expect(timeline.find((entry) => entry.kind === 'handover-attempt')?.message).toBe(
      'Handover attempt 1: an unexpected fault in hit-bridge (the log has the error); trying again.',
    );
    expect(timeline.find((entry) => entry.kind === 'failed')?.message).toBe(
      'Gave up: an unexpected fault in hit-bridge (the log has the error).',
    );
    expect(await harness.records(TOPICS.handoverPackets, id)).toEqual([]);
  });

  it('begins a handover once, however often its discharge event is delivered', async () => {
    const harness = await start();
    const id = await harness.accept();
    await sentPackets(harness, id, 2);
    const [discharge] = await harness.store.log.read(TOPICS.handover, 0, 1);
    if (discharge === undefined) throw new Error('no discharge event on the log');
    const again: OutgoingEvent = {
      topic: TOPICS.handover,
      key: discharge.key,
      value: JSON.parse(discharge.value) as Record<string, unknown>,
    };
    await harness.bus.publish([again, again]);
    await until(
      'the redeliveries handled',
      async () => (await harness.bus.consumerLag('unit-handover', TOPICS.handover)) === 0,
    );
    await relayIdle(harness);
    expect((await harness.timelineKinds(id)).filter((kind) => kind === 'handover-started')).toHaveLength(1);
    expect(await harness.records(TOPICS.handoverPackets, id)).toHaveLength(2);
    expect(harness.ehr.calls.filter((call) => call.method === 'transaction')).toHaveLength(1);
  });

  it('publishes each packet once when publishing fails first, without running the handover again', async () => {
    let failures = 0;
    const harness = await start({
      relayBus: (bus) => ({
        ...bus,
        publish: (events) => {
          if (failures < 2 && events.some((event) => event.topic === TOPICS.handoverPackets)) {
            failures += 1;
            return Promise.reject(new Error('broker unavailable (on purpose)'));
          }
          return bus.publish(events);
        },
      }),
    });
    const id = await harness.accept();
    const packets = await sentPackets(harness, id, 2);
    await relayIdle(harness);
    expect(failures).toBe(2);
    expect(await harness.records(TOPICS.handoverPackets, id)).toHaveLength(2);
    expect(new Set(packets.map(cloudEventIdOf)).size).toBe(2);
    expect(harness.ehr.calls.filter((call) => call.method === 'transaction')).toHaveLength(1);
    expect(tasksOf(harness)).toHaveLength(1);
  });

  it('republishes a packet whose acknowledgement was lost under the same CloudEvent id, so its recipient can tell', async () => {
    let lost = false;
    const harness = await start({
      relayBus: (bus) => ({
        ...bus,
        publish: async (events) => {
          const placed = await bus.publish(events);
          if (!lost && events.some((event) => event.topic === TOPICS.handoverPackets)) {
            lost = true;
            throw new Error('request timed out after the broker stored it (on purpose)');
          }
          return placed;
        },
      }),
    });
    const id = await harness.accept();
    const packets = await sentPackets(harness, id, 4);
    expect(packets.map(recipientOf).sort()).toEqual([
      'frisklivssentral',
      'frisklivssentral',
      'training-contact',
      'training-contact',
    ]);
    expect(new Set(packets.map(cloudEventIdOf)).size).toBe(2);
    expect(harness.ehr.calls.filter((call) => call.method === 'transaction')).toHaveLength(1);
  });

  it("takes the Frisklivssentral's answer from the status topic into the Task, skipping answers it cannot use", async () => {
    const harness = await start();
    const id = await harness.accept();
    await sentPackets(harness, id, 2);
    await harness.bus.publish([
      // Breaks the schema (no status): skipped, and the consumer goes on.
      { topic: STATUS_TOPIC, key: 'k', value: { handoverId: id } },
      // No such handover: skipped.
      { topic: STATUS_TOPIC, key: 'k', value: { handoverId: randomUUID(), status: 'accepted' } },
      {
        topic: STATUS_TOPIC,
        key: 'k',
        value: { handoverId: id, status: 'on-hold', reason: 'Venter på time', by: 'Frisklivssentralen' },
      },
    ]);
    await until('the Task on hold', () => tasksOf(harness)[0]?.status === 'on-hold');
    expect(tasksOf(harness)).toHaveLength(1);
    expect(tasksOf(harness)[0]).toMatchObject({ statusReason: { text: 'Venter på time' } });
    expect((await harness.store.getHandover(id))?.acknowledgement?.status).toBe('on-hold');
    expect(await harness.store.handoversAwaitingAcknowledgement()).toBe(0);
    await until(
      'the status topic consumed',
      async () => (await harness.bus.consumerLag('unit-handover.status', STATUS_TOPIC)) === 0,
    );
  });

  it('raises handover.overdue once for a handover left unanswered past the timeout, counts it, and keeps it awaiting', async () => {
    const harness = await start({ ackTimeoutMs: 150 });
    const id = await harness.accept();
    await sentPackets(harness, id, 2);
    await until('the overdue event', async () => {
      const records = await harness.store.log.read(TOPICS.handover, 0, 100);
      return records.some((record) => record.value.includes(EVENT_TYPES.handoverOverdue));
    });
    // Several more checks pass: still one.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const overdue = (await harness.store.log.read(TOPICS.handover, 0, 100)).filter((record) =>
      record.value.includes(EVENT_TYPES.handoverOverdue),
    );
    expect(overdue).toHaveLength(1);
    expect(eventValidator.validateEvent(JSON.parse(overdue[0]?.value ?? '{}') as Record<string, unknown>)).toEqual({
      ok: true,
    });
    expect(await metric(harness, METRIC_NAMES.handoversOverdue)).toBe('1');
    expect((await harness.store.getHandover(id))?.overdueAt).toBeDefined();
    expect(await harness.store.handoversAwaitingAcknowledgement()).toBe(1);
  });
  /** The EHR throws (a fault of ours, not an answer) on each Task update until `healed` says otherwise. */
  const throwOnTaskUpdate =
    (healed: () => boolean, thrown: { count: number }) =>
    (_store: Store, ehr: FakeEhr): void => {
      const transaction = ehr.transaction.bind(ehr);
      ehr.transaction = (bundle) => {
        if (bundle.entry?.[0]?.request?.method !== 'PUT' || healed()) return transaction(bundle);
        thrown.count += 1;
        return Promise.reject(new Error('unexpected fault (on purpose)'));
      };
    };
  const answerOnHold = (harness: Harness, id: string): Promise<unknown> =>
    harness.bus.publish([
      { topic: STATUS_TOPIC, key: 'k', value: { handoverId: id, status: 'on-hold', reason: 'Venter på time' } },
    ]);

  it('retries a referral Task update that threw soon, with the policy and on the timeline, until the Task takes the answer', async () => {
    const thrown = { count: 0 };
    const harness = await start({ tamper: throwOnTaskUpdate(() => thrown.count >= 2, thrown) });
    const id = await harness.accept();
    await sentPackets(harness, id, 2);
    await answerOnHold(harness, id);
    // The lease (2 minutes) is far beyond this wait: only the retry policy brings the job back.
    await until('the Task on hold', () => tasksOf(harness)[0]?.status === 'on-hold');
    expect(thrown.count).toBe(2);
    const messages = (await harness.store.timeline(id)).map((entry) => entry.message);
    expect(messages).toContain(
      'Referral Task update, attempt 1: an unexpected fault in hit-bridge (the log has the error); trying again.',
    );
    expect((await harness.store.getSubmission(id))?.status).toBe('delivered');
  });

  it('gives up a referral Task update that keeps throwing at the horizon, visibly on the timeline, and the discharge stays delivered', async () => {
    const thrown = { count: 0 };
    const harness = await start({
      retryPolicy: { ...QUICK, horizonMs: 300 },
      tamper: throwOnTaskUpdate(() => false, thrown),
    });
    const id = await harness.accept();
    await sentPackets(harness, id, 2);
    await answerOnHold(harness, id);
    const givenUp =
      "The referral Task's new status was not recorded in the EHR: an unexpected fault in hit-bridge (the log has the error).";
    await until('the Task update given up', async () =>
      (await harness.store.timeline(id)).some((entry) => entry.kind === 'failed' && entry.message === givenUp),
    );
    expect(thrown.count).toBeGreaterThan(1);
    expect(tasksOf(harness)[0]?.status).toBe('requested');
    expect((await harness.store.getSubmission(id))?.status).toBe('delivered');
  });

  it('marks an overdue handover whose event the schema refuses on its timeline, once, and raises the others behind it', async () => {
    // The first handover the check meets is refused for good (as a schema change could); with
    // the check reading the oldest first, it used to stop the check before any other every time.
    let refused: string | undefined;
    const harness = await start({
      ackTimeoutMs: 150,
      preloaded: ['D-first', 'D-second'],
      validator: (validator) => ({
        ...validator,
        assertValidEvent(event) {
          const { type, subject } = event as { type?: string; subject?: string };
          if (type === EVENT_TYPES.handoverOverdue) {
            refused ??= subject;
            if (subject === refused) throw new Error('handover.overdue breaks its schema (on purpose)');
          }
          validator.assertValidEvent(event);
        },
      }),
    });
    const ids = await preloadedIds(harness, ['D-first', 'D-second']);
    await until('both marked overdue', async () =>
      (await Promise.all(ids.map((id) => harness.store.getHandover(id)))).every((state) => state?.overdueAt),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const other = ids.find((id) => id !== refused) ?? '';
    const overdueEvents = (await harness.store.log.read(TOPICS.handover, 0, 1000)).filter((record) =>
      record.value.includes(EVENT_TYPES.handoverOverdue),
    );
    expect(overdueEvents.map((record) => (JSON.parse(record.value) as { subject: string }).subject)).toEqual([other]);
    const notes = (await harness.store.timeline(refused ?? '')).filter((entry) => entry.kind === 'overdue');
    expect(notes.map((entry) => entry.message)).toEqual([
      'No answer from the Frisklivssentral within 0 seconds of sending; handover.overdue could not be raised: an unexpected fault in hit-bridge (the log has the error).',
    ]);
    expect(await metric(harness, METRIC_NAMES.handoversOverdue)).toBe('2');
  });

  it('goes on past an overdue handover the store fails for at every check, logging it once', async () => {
    const lines: string[] = [];
    const logger = createLogger({
      level: 'error',
      pretty: false,
      destination: new Writable({
        write: (chunk: Buffer, _encoding, done) => {
          lines.push(chunk.toString('utf8'));
          done();
        },
      }),
    });
    let failing: string | undefined;
    let attempts = 0;
    const harness = await start({
      ackTimeoutMs: 150,
      preloaded: ['D-first', 'D-second'],
      logger,
      tamper: (store) => {
        const mark = store.markHandoverOverdue.bind(store);
        store.markHandoverOverdue = (submissionId, effects, now) => {
          failing ??= submissionId;
          if (submissionId !== failing) return mark(submissionId, effects, now);
          attempts += 1;
          return Promise.reject(new Error('row locked (on purpose)'));
        };
      },
    });
    const ids = await preloadedIds(harness, ['D-first', 'D-second']);
    await until('the other marked overdue', async () => {
      const other = ids.find((id) => id !== failing);
      return failing !== undefined && (await harness.store.getHandover(other ?? ''))?.overdueAt !== undefined;
    });
    await until('several checks met the failing one', () => attempts >= 4);
    expect((await harness.store.getHandover(failing ?? ''))?.overdueAt).toBeUndefined();
    expect(lines.filter((line) => line.includes('row locked (on purpose)'))).toHaveLength(1);
  });

  it('reaches the overdue handovers behind a full batch of ones that keep failing', async () => {
    let failing: string | undefined;
    const harness = await start({
      ackTimeoutMs: 150,
      preloaded: ['D-oldest', 'D-next'],
      // A batch of one: the oldest, failing at every check, would fill every batch.
      overdueBatchSize: 1,
      tamper: (store) => {
        const mark = store.markHandoverOverdue.bind(store);
        store.markHandoverOverdue = (submissionId, effects, now) => {
          failing ??= submissionId;
          return submissionId === failing
            ? Promise.reject(new Error('row locked (on purpose)'))
            : mark(submissionId, effects, now);
        };
      },
    });
    const ids = await preloadedIds(harness, ['D-oldest', 'D-next']);
    await until('the one behind the failing one marked overdue', async () => {
      const other = ids.find((id) => id !== failing);
      return failing !== undefined && (await harness.store.getHandover(other ?? ''))?.overdueAt !== undefined;
    });
    expect((await harness.store.getHandover(failing ?? ''))?.overdueAt).toBeUndefined();
  });

  describe('over EDI (channel edi)', () => {
    const receiptOf = async (harness: Harness, id: string) =>
      (await harness.store.timeline(id)).filter((entry) => entry.kind === 'receipt');

    it('sends one schema-valid Dialogmelding with the PDF to the centre, and an AppRec OK sets the Task to received', async () => {
      const edi = createFakeMessageService();
      const harness = await start({ edi });
      const id = await harness.accept();
      await handedOver(harness, id);
      expect(edi.sent).toHaveLength(1);
      const [message] = edi.sent;
      expect(message?.request.receiverHerIds).toEqual([Number(FRISKLIVSSENTRAL.herId)]);
      expect(validateAgainstXsd(message?.request.businessDocument ?? '', SCHEMAS.handoverMessage)).toEqual({
        valid: true,
      });
      expect(message?.request.businessDocument).toContain('application/pdf');
      // Sent and waiting: the Task stays requested until the centre's system answers.
      await until('the receipt asked for', () => edi.receiptCalls >= 2);
      expect(tasksOf(harness)[0]?.status).toBe('requested');

      edi.answerReceipts({ transport: 'Acknowledged', appRec: { status: 'Ok', errors: [] } });
      await until('the Task received', () => tasksOf(harness)[0]?.status === 'received');
      const [receipt] = await receiptOf(harness, id);
      expect(receipt?.message).toContain('Application receipt OK from HER-id 8012345');
      expect(receipt?.detail).toMatchObject({ msgId: message?.msgId, status: 'ok' });
      expect((await harness.store.getSubmission(id))?.status).toBe('delivered');
      // The centre has it; whether it takes the patient still comes as an answer.
      expect(await harness.store.handoversAwaitingAcknowledgement()).toBe(1);
    });

    it('fails the handover on an AppRec Avvist, with its codes on the timeline, a handover.rejected event and the Task failed', async () => {
      const edi = createFakeMessageService();
      edi.answerReceipts({
        transport: 'Acknowledged',
        appRec: {
          status: 'Rejected',
          errors: [{ code: 'E10', details: 'Ukjent mottaker i virksomheten', description: 'Ugyldig mottaker' }],
        },
      });
      const harness = await start({ edi });
      const id = await harness.accept();
      await until('the discharge failed', async () => (await harness.store.getSubmission(id))?.status === 'failed');
      const [receipt] = await receiptOf(harness, id);
      expect(receipt?.message).toContain(
        "The Frisklivssentral's system refused the handover (AppRec Avvist, HER-id 8012345)",
      );
      expect(receipt?.message).toContain('E10 Ugyldig mottaker: Ukjent mottaker i virksomheten');
      await until('the Task failed', () => tasksOf(harness)[0]?.status === 'failed');
      await relayIdle(harness);
      const rejected = (await harness.store.log.read(TOPICS.handover, 0, 1000))
        .map((record) => JSON.parse(record.value) as { type: string; data: Record<string, unknown> })
        .filter((event) => event.type === EVENT_TYPES.handoverRejected);
      expect(rejected).toHaveLength(1);
      expect(rejected[0]?.data).toMatchObject({
        handoverId: id,
        herId: FRISKLIVSSENTRAL.herId,
        msgId: edi.sent[0]?.msgId,
        rejectedBy: 'receiver',
        errors: [{ code: 'E10', description: 'Ugyldig mottaker: Ukjent mottaker i virksomheten' }],
      });
      // Refused is an answer: the overdue check leaves it alone.
      expect(await harness.store.handoversAwaitingAcknowledgement()).toBe(0);
    });

    it("records an AppRec 'OK, feil i delmelding' as received, with the receiver's warning on the timeline", async () => {
      const edi = createFakeMessageService();
      edi.answerReceipts({
        transport: 'Acknowledged',
        appRec: { status: 'OkErrorInMessagePart', errors: [{ code: 'X99', details: 'Vedlegget kunne ikke vises' }] },
      });
      const harness = await start({ edi });
      const id = await harness.accept();
      await until('the Task received', () => tasksOf(harness)[0]?.status === 'received');
      const [receipt] = await receiptOf(harness, id);
      expect(receipt?.message).toContain('Application receipt OK, feil i delmelding');
      expect(receipt?.message).toContain('X99 Vedlegget kunne ikke vises');
      expect((await harness.store.getSubmission(id))?.status).toBe('delivered');
    });

    it('retries a send the message service could not take, and every send of the handover carries the same MsgId', async () => {
      const edi = createFakeMessageService();
      edi.failNextSends(EDI_TRANSIENT, EDI_TRANSIENT);
      const harness = await start({ edi });
      const id = await harness.accept();
      await handedOver(harness, id);
      expect(edi.sent).toHaveLength(1);
      const attempts = (await harness.store.timeline(id)).filter((entry) => entry.kind === 'handover-attempt');
      expect(attempts[0]?.message).toContain("sending the Dialogmelding through NHN's message service: answered 503");

      // The same handover built again (as after a crash between sending and recording): same MsgId.
      const again = createFakeMessageService();
      const channel = createEdiChannel({ messageService: again, sender: EXAMPLE_SENDER, clock: () => new Date() });
      const facts = exampleHandoverFacts();
      const packet = buildHandoverPackets(facts).frisklivssentral;
      if (!('bundle' in packet)) throw new Error('no packet');
      await channel.send({ facts, packet, recipient: facts.frisklivssentral });
      await channel.send({
        facts: { ...facts, generatedAt: new Date().toISOString() },
        packet,
        recipient: facts.frisklivssentral,
      });
      expect(new Set(again.sent.map((m) => m.msgId)).size).toBe(1);
    });

    it('fails the handover and its Task when the message service refuses the message for good', async () => {
      const edi = createFakeMessageService();
      edi.failNextSends(EDI_REFUSED);
      const harness = await start({ edi });
      const id = await harness.accept();
      await until('the discharge failed', async () => (await harness.store.getSubmission(id))?.status === 'failed');
      const failed = (await harness.store.timeline(id)).filter((entry) => entry.kind === 'failed');
      expect(failed[0]?.message).toContain("NHN's message service refused the Dialogmelding");
      expect(failed[0]?.message).toContain('1200');
      await until('the Task failed', () => tasksOf(harness)[0]?.status === 'failed');
      expect(await harness.records(TOPICS.handoverPackets, id)).toEqual([]);
    });

    it('stops asking for a receipt at the acknowledgement timeout, and the handover is raised overdue', async () => {
      const edi = createFakeMessageService();
      const harness = await start({ edi, ackTimeoutMs: 300 });
      const id = await harness.accept();
      await until('overdue', async () => (await harness.store.getHandover(id))?.overdueAt !== undefined);
      await until('no longer asking', async () => (await receiptOf(harness, id)).length === 1);
      const [receipt] = await receiptOf(harness, id);
      expect(receipt?.message).toContain('No application receipt');
      const calls = edi.receiptCalls;
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(edi.receiptCalls).toBe(calls);
    });
  });
});
