/**
 * The event relay: N "session recorded" events waiting in the outbox, drained by the relay
 * worker into Kafka, against a bare kafkajs producer sending records built the same way (keys,
 * values, headers), with the same settings (idempotent, one request in flight, acks -1), in
 * produce requests cut exactly as the relay cuts them, into a topic created as the relay's bus
 * creates its own. Each side is timed from its first request to its last acknowledgement (the
 * relay: to its last marking), and the bare producer serialises each request inside its time as
 * the bus does.
 *
 * On a shared machine the bare producer's own rate moves several-fold between runs minutes apart,
 * so one pair says little: rounds alternate bare, relay, bare, relay…, each into fresh topics
 * after the outbox was filled, and the figures are the medians of each side, their ratio, and
 * the spread (slowest and fastest round of each side, and of the per-round ratios). The CPU this
 * process spent per event is recorded for both: steadier than rates while other work shares the
 * cores. (A PostgreSQL outbox's own work runs in the server and is not in it.) Beside it, each
 * round records where the machine's CPU went while each side ran (machine-cpu.ts): this process's
 * loop and its other threads, the broker, PostgreSQL's backends for the outbox, the rest of the
 * machine and what was left idle, so a round shows what the peers leave for the relay's own work.
 */
import { loadavg } from 'node:os';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { buildRecordedEvent, eventId, RECORD_EVENT_TYPE, toOutgoingEvent } from '../../src/events/cloud-events.ts';
import type { OutgoingEvent } from '../../src/events/event-bus.ts';
import { createTopicWithLeaders } from '../../src/events/kafka-client.ts';
import { createKafkaEventBus, DEFAULT_PARTITIONS } from '../../src/events/kafka-event-bus.ts';
import {
  claimSizeAfter,
  DEFAULT_MAX_REQUEST_BYTES,
  DEFAULT_RELAY_BATCH,
  estimatedRecordBytes,
  produceRequests,
  startEventRelayWorker,
} from '../../src/events/event-relay-worker.ts';
import { createMetrics } from '../../src/platform/metrics.ts';
import { DEFAULT_CONNECT_RETRY_POLICY } from '../../src/platform/retry.ts';
import type { Store } from '../../src/store/store.ts';
import type { RunningWorker } from '../../src/store/worker-loop.ts';
import { silentLogger } from '../../test/support/silent-logger.ts';
import { pool } from '../../test/support/workload.ts';
import { round } from './accept.ts';
import { cpuMeter, cpuShares, sumOfWindows, type CpuMeter, type CpuWindow, type WatchedPeers } from './machine-cpu.ts';
import { median, spreadOf } from './stats.ts';

/** The relay's first claim; the bare producer's requests are cut from claims sized as the relay's. */
const RELAY_BATCH = DEFAULT_RELAY_BATCH;

/** One side of a round: its time, requests and the CPU this process spent on it. */
interface SideFigures {
  readonly seconds: number;
  readonly perSecond: number;
  /** Produce requests sent (the relay's: publish calls). */
  readonly requests: number;
  /** User + system CPU of this process per event, µs. */
  readonly cpuMicrosPerEvent: number;
  /** Where the machine's CPU went while this side ran: per event and as a share of the cores. */
  readonly machine: MachineShares;
  /** The same in µs over the side's window, for the sums over rounds. */
  readonly machineWindow: CpuWindow;
}

type MachineShares = ReturnType<typeof cpuShares>;

interface RelayRound {
  /** 1-minute load average when the round started. */
  readonly loadAverage: number;
  readonly bare: SideFigures;
  readonly relay: SideFigures & { readonly steps: RelaySteps };
  /** This round's relay rate over its bare rate. */
  readonly ratio: number;
}

/** Slowest and fastest of a figure over the rounds. */
type Spread = ReturnType<typeof spreadOf>;

export interface RelayFigures {
  readonly store: 'sqlite' | 'postgres';
  readonly n: number;
  readonly batch: number;
  readonly valueBytes: number;
  readonly rounds: readonly RelayRound[];
  /** Median over the rounds. */
  readonly relayPerSecond: number;
  /** Median over the rounds. */
  readonly barePerSecond: number;
  /** Median relay rate over median bare rate. */
  readonly ratio: number;
  readonly spread: { readonly relayPerSecond: Spread; readonly barePerSecond: Spread; readonly ratio: Spread };
  /** Medians over the rounds, µs of this process's CPU per event. */
  readonly cpuMicrosPerEvent: { readonly relay: number; readonly bare: number };
  /** Events per produce request, over all rounds, for each side (alike by construction; shown so it can be seen). */
  readonly eventsPerRequest: { readonly relay: number; readonly bare: number };
  /** Where the machine's CPU went on each side, summed over the rounds (the machine's ticks are 10 ms). */
  readonly machine: { readonly relay: MachineShares; readonly bare: MachineShares };
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

/** Times `work` by the wall clock, by this process's CPU and by where the machine's CPU went. */
async function timedSide(n: number, meter: CpuMeter, work: () => Promise<number>): Promise<SideFigures> {
  const stopMeter = meter.start();
  const cpu = process.cpuUsage();
  const started = performance.now();
  const requests = await work();
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const window = stopMeter();
  return {
    seconds: round(seconds, 3),
    perSecond: Math.round(n / seconds),
    requests,
    cpuMicrosPerEvent: round((used.user + used.system) / n, 1),
    machine: cpuShares(window, n),
    machineWindow: window,
  };
}

async function drainWithRelay(
  store: Store,
  kafka: Kafka,
  meter: CpuMeter,
  events: readonly OutgoingEvent[],
): Promise<SideFigures & { steps: RelaySteps }> {
  const bus = createKafkaEventBus({ kafka, logger: silentLogger });
  // Connects the producer and creates the topic before the clock starts, as the bare run does.
  const first = events[0];
  if (first !== undefined) await bus.publish([{ ...first, value: { ...first.value, id: 'warm-up' } }]);
  // The store and bus as the relay sees them, timed: the drain ends when the last job is marked
  // sent (no polling, which would take the relay's own CPU), and each step's share is known.
  const steps = { batches: 0, claimMs: 0, publishMs: 0, completeMs: 0 };
  let requests = 0;
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
    readUnderQueueLease: (...args) => timed('claimMs', () => store.readUnderQueueLease(...args)),
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
    publish: (batch: readonly OutgoingEvent[]) => {
      requests += 1;
      return timed('publishMs', () => bus.publish(batch));
    },
  };
  let worker: RunningWorker | undefined;
  const side = await timedSide(events.length, meter, async () => {
    worker = startEventRelayWorker({
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
    return requests;
  });
  await worker?.stop();
  await bus.close();
  return {
    ...side,
    steps: {
      batches: steps.batches,
      claimMs: Math.round(steps.claimMs),
      publishMs: Math.round(steps.publishMs),
      completeMs: Math.round(steps.completeMs),
    },
  };
}

/**
 * The relay's produce requests for events claimed in outbox order: claims sized as the relay sizes
 * them (the first RELAY_BATCH, each next one by claimSizeAfter the one before), each cut by bytes.
 */
function requestsLikeTheRelay<T extends OutgoingEvent>(events: readonly T[]): T[][] {
  const requests: T[][] = [];
  let claim = RELAY_BATCH;
  for (let index = 0; index < events.length;) {
    const batch = events.slice(index, index + claim);
    index += batch.length;
    let bytes = 0;
    requests.push(
      ...produceRequests(batch, DEFAULT_MAX_REQUEST_BYTES, (event) => {
        const eventBytes = estimatedRecordBytes(event);
        bytes += eventBytes;
        return eventBytes;
      }),
    );
    claim = claimSizeAfter(batch.length, bytes, DEFAULT_MAX_REQUEST_BYTES);
  }
  return requests;
}

async function sendBare(kafka: Kafka, meter: CpuMeter, events: readonly OutgoingEvent[]): Promise<SideFigures> {
  const topic = events[0]?.topic ?? 'unused';
  const admin = kafka.admin();
  await admin.connect();
  // As the bus creates its topics: the same partitions, replicas min(3, brokers).
  const replicationFactor = Math.min(3, (await admin.describeCluster()).brokers.length);
  await createTopicWithLeaders(admin, { topic, numPartitions: DEFAULT_PARTITIONS, replicationFactor });
  await admin.disconnect();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  const toMessage = (event: OutgoingEvent) => ({
    key: event.key,
    value: JSON.stringify(event.value),
    headers: { ...event.headers },
  });
  const first = events[0];
  if (first !== undefined) await producer.send({ topic, acks: -1, messages: [toMessage(first)] });
  const requests = requestsLikeTheRelay(events);
  const side = await timedSide(events.length, meter, async () => {
    for (const request of requests) {
      // Serialised inside the time, request by request, as the bus does.
      await producer.sendBatch({ acks: -1, topicMessages: [{ topic, messages: request.map(toMessage) }] });
    }
    return requests.length;
  });
  await producer.disconnect();
  return side;
}

export async function measureRelay(
  store: Store,
  storeName: RelayFigures['store'],
  kafka: Kafka,
  options: { readonly n: number; readonly rounds: number; readonly peers?: WatchedPeers },
): Promise<RelayFigures> {
  const meter = cpuMeter(options.peers ?? {});
  const rounds: RelayRound[] = [];
  let valueBytes = 0;
  for (let index = 0; index < options.rounds; index += 1) {
    const prefix = `bench-relay-${randomBytes(4).toString('hex')}`;
    const relayEvents = sampleEvents(options.n, `${prefix}-outbox`);
    const bareEvents = sampleEvents(options.n, `${prefix}-bare`);
    valueBytes = JSON.stringify(relayEvents[0]?.value).length;
    // Filled before both sides of the round, so whatever the filling leaves behind (a checkpoint,
    // a vacuum) can fall on either.
    await fillOutbox(store, relayEvents);
    const loadAverage = round(loadavg()[0] ?? 0, 1);
    const bare = await sendBare(kafka, meter, bareEvents);
    const relay = await drainWithRelay(store, kafka, meter, relayEvents);
    rounds.push({ loadAverage, bare, relay, ratio: round(relay.perSecond / bare.perSecond, 2) });
  }
  const relayRates = rounds.map((r) => r.relay.perSecond);
  const bareRates = rounds.map((r) => r.bare.perSecond);
  const relayPerSecond = Math.round(median(relayRates));
  const barePerSecond = Math.round(median(bareRates));
  const requests = (side: 'relay' | 'bare') => rounds.reduce((sum, r) => sum + r[side].requests, 0);
  const overRounds = (side: 'relay' | 'bare') =>
    cpuShares(sumOfWindows(rounds.map((r) => r[side].machineWindow)), options.n * rounds.length);
  return {
    store: storeName,
    n: options.n,
    batch: RELAY_BATCH,
    valueBytes,
    rounds,
    relayPerSecond,
    barePerSecond,
    ratio: round(relayPerSecond / barePerSecond, 2),
    spread: {
      relayPerSecond: spreadOf(relayRates),
      barePerSecond: spreadOf(bareRates),
      ratio: spreadOf(rounds.map((r) => r.ratio)),
    },
    cpuMicrosPerEvent: {
      relay: round(median(rounds.map((r) => r.relay.cpuMicrosPerEvent)), 1),
      bare: round(median(rounds.map((r) => r.bare.cpuMicrosPerEvent)), 1),
    },
    eventsPerRequest: {
      relay: round((options.n * rounds.length) / requests('relay'), 1),
      bare: round((options.n * rounds.length) / requests('bare'), 1),
    },
    machine: { relay: overRounds('relay'), bare: overRounds('bare') },
  };
}
