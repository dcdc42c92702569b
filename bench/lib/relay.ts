/**
 * The event relay: N "session recorded" events waiting in the outbox, drained by the relay
 * worker into Kafka, against a bare kafkajs producer sending the same records (same keys, values
 * and headers) with the same settings (idempotent, one request in flight, acks -1) in batches of
 * the relay's size. Rounds alternate relay, bare, relay, bare…, each into a fresh topic, so both
 * see the same machine load; the outbox is filled before a relay round starts, outside its time.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { buildRecordedEvent, eventId, RECORD_EVENT_TYPE, toOutgoingEvent } from '../../src/events/cloud-events.ts';
import type { OutgoingEvent } from '../../src/events/event-bus.ts';
import { createTopicWithLeaders } from '../../src/events/kafka-client.ts';
import { createKafkaEventBus, DEFAULT_PARTITIONS } from '../../src/events/kafka-event-bus.ts';
import { DEFAULT_RELAY_BATCH, startEventRelayWorker } from '../../src/events/event-relay-worker.ts';
import { createMetrics } from '../../src/platform/metrics.ts';
import { DEFAULT_CONNECT_RETRY_POLICY } from '../../src/platform/retry.ts';
import type { Store } from '../../src/store/store.ts';
import { silentLogger } from '../../test/support/silent-logger.ts';
import { pool } from '../../test/support/workload.ts';
import { round } from './accept.ts';

/** The relay's default batch; the bare producer sends batches of this size. */
const RELAY_BATCH = DEFAULT_RELAY_BATCH;

interface RelayRound {
  readonly relaySeconds: number;
  readonly bareSeconds: number;
  readonly relaySteps: RelaySteps;
}

export interface RelayFigures {
  readonly store: 'sqlite' | 'postgres';
  readonly n: number;
  readonly batch: number;
  readonly valueBytes: number;
  readonly rounds: readonly RelayRound[];
  readonly relayPerSecond: number;
  readonly barePerSecond: number;
  /** Relay rate over bare rate, from the rounds' total times. */
  readonly ratio: number;
}

function sampleEvents(n: number, topic: string): OutgoingEvent[] {
  const source = `bench-${randomBytes(3).toString('hex')}`;
  return Array.from({ length: n }, (_, index) => {
    const submissionId = randomUUID();
    const event = buildRecordedEvent(
      { id: eventId(submissionId, RECORD_EVENT_TYPE['hit-sessions']), time: new Date() },
      {
        submission: {
          submissionId,
          kind: 'hit-sessions',
          source,
          inputId: `S-${index}`,
          // As many patients as a busy trust has in flight: keys spread over the partitions.
          patientKey: randomBytes(32).toString('hex').slice(0, 43),
        },
        occurredAt: '2026-11-23T10:00:00+01:00',
        ehrBaseUrl: 'http://ehr.example/fhir',
        ehrReferences: [`Procedure/${index}`, `Observation/${index}a`, `Observation/${index}b`],
      },
    );
    return { ...toOutgoingEvent(event), topic };
  });
}

async function fillOutbox(store: Store, events: readonly OutgoingEvent[]): Promise<void> {
  const now = new Date();
  await pool(events, 8, async (event) => {
    const id = String(event.value.subject);
    await store.accept(
      {
        id,
        kind: 'hit-sessions',
        source: 'bench-relay',
        inputId: id,
        bodyHash: id,
        body: {},
        patientKey: event.key,
        acceptedAt: now,
      },
      { queue: 'event-publish', payload: event, runAt: now },
    );
  });
}

/** Milliseconds the relay spent per batch in each step, summed over a round. */
interface RelaySteps {
  readonly batches: number;
  readonly claimMs: number;
  readonly publishMs: number;
  readonly completeMs: number;
}

async function drainWithRelay(
  store: Store,
  kafka: Kafka,
  events: readonly OutgoingEvent[],
): Promise<{ seconds: number; steps: RelaySteps }> {
  const bus = createKafkaEventBus({ kafka, logger: silentLogger });
  // Connects the producer and creates the topic before the clock starts, as the bare run does.
  const first = events[0];
  if (first !== undefined) await bus.publish([{ ...first, value: { ...first.value, id: 'warm-up' } }]);
  await fillOutbox(store, events);
  // The store and bus as the relay sees them, timed: the drain ends when the last job is marked
  // sent (no polling, which would take the relay's own CPU), and each step's share is known.
  const steps = { batches: 0, claimMs: 0, publishMs: 0, completeMs: 0 };
  let completed = 0;
  let drained: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (drained = resolve));
  const timed = async <T>(step: 'claimMs' | 'publishMs' | 'completeMs', work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await work();
    } finally {
      steps[step] += performance.now() - started;
    }
  };
  const timedStore: Store = {
    ...store,
    claim: (...args) => timed('claimMs', () => store.claim(...args)),
    completeAll: async (items, now, options) => {
      const answers = await timed('completeMs', () => store.completeAll(items, now, options));
      steps.batches += 1;
      completed += answers.filter(Boolean).length;
      if (completed >= events.length) drained();
      return answers;
    },
  };
  const timedBus = {
    ...bus,
    publish: (batch: readonly OutgoingEvent[]) => timed('publishMs', () => bus.publish(batch)),
  };
  const started = performance.now();
  const worker = startEventRelayWorker({
    store: timedStore,
    bus: timedBus,
    retryPolicy: DEFAULT_CONNECT_RETRY_POLICY,
    clock: () => new Date(),
    logger: silentLogger,
    // Counted as in the service (prom-client histograms), so the relay pays what it pays there.
    metrics: createMetrics({ defaultMetrics: false }),
    owner: `bench-relay-${randomBytes(3).toString('hex')}`,
  });
  await done;
  const seconds = (performance.now() - started) / 1000;
  await worker.stop();
  await bus.close();
  return {
    seconds,
    steps: {
      batches: steps.batches,
      claimMs: Math.round(steps.claimMs),
      publishMs: Math.round(steps.publishMs),
      completeMs: Math.round(steps.completeMs),
    },
  };
}

async function sendBare(kafka: Kafka, events: readonly OutgoingEvent[]): Promise<number> {
  const topic = events[0]?.topic;
  if (topic === undefined) return 0;
  const admin = kafka.admin();
  await admin.connect();
  await createTopicWithLeaders(admin, { topic, numPartitions: DEFAULT_PARTITIONS, replicationFactor: 1 });
  await admin.disconnect();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  const messages = events.map((event) => ({
    key: event.key,
    value: JSON.stringify(event.value),
    headers: { ...event.headers },
  }));
  await producer.send({ topic, acks: -1, messages: messages.slice(0, 1) });
  const started = performance.now();
  for (let index = 0; index < messages.length; index += RELAY_BATCH) {
    await producer.sendBatch({
      acks: -1,
      topicMessages: [{ topic, messages: messages.slice(index, index + RELAY_BATCH) }],
    });
  }
  const seconds = (performance.now() - started) / 1000;
  await producer.disconnect();
  return seconds;
}

export async function measureRelay(
  store: Store,
  storeName: RelayFigures['store'],
  kafka: Kafka,
  options: { readonly n: number; readonly rounds: number },
): Promise<RelayFigures> {
  const rounds: RelayRound[] = [];
  let valueBytes = 0;
  for (let index = 0; index < options.rounds; index += 1) {
    const prefix = `bench-relay-${randomBytes(4).toString('hex')}`;
    const relayEvents = sampleEvents(options.n, `${prefix}-outbox`);
    const bareEvents = sampleEvents(options.n, `${prefix}-bare`);
    valueBytes = JSON.stringify(relayEvents[0]?.value).length;
    const relay = await drainWithRelay(store, kafka, relayEvents);
    const bareSeconds = await sendBare(kafka, bareEvents);
    rounds.push({ relaySeconds: round3(relay.seconds), bareSeconds: round3(bareSeconds), relaySteps: relay.steps });
  }
  const relayTotal = rounds.reduce((sum, r) => sum + r.relaySeconds, 0);
  const bareTotal = rounds.reduce((sum, r) => sum + r.bareSeconds, 0);
  const total = options.n * options.rounds;
  return {
    store: storeName,
    n: options.n,
    batch: RELAY_BATCH,
    valueBytes,
    rounds,
    relayPerSecond: Math.round(total / relayTotal),
    barePerSecond: Math.round(total / bareTotal),
    ratio: round(bareTotal / relayTotal, 2),
  };
}

function round3(value: number): number {
  return round(value, 3);
}
