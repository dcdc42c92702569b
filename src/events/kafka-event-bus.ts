/**
 * The EventBus on Kafka (kafkajs), for production.
 *
 * Publishing: one idempotent producer (idempotent, maxInFlightRequests 1, acks -1), created on
 * the first publish. publish() resolves only with the broker's acknowledgement from all in-sync
 * replicas, and says for every record where it landed: kafkajs answers with one base offset per
 * topic-partition, and a partition's records of one request sit in that partition in the order
 * we gave them, so a record's offset is the base offset plus its place among the records that
 * went to the same topic-partition. Which partition a record went to is noted as the partitioner
 * chooses it: for a keyed record murmur2 of the key, as the Java client and kafkajs' default
 * partitioner choose, computed in 32-bit arithmetic (murmur2.ts).
 * Publishes are sent one at a time, in call order: a later call never overtakes an earlier one,
 * so records with the same key keep their order across calls too.
 *
 * Consuming: a consumer group per subscribe(), `eachBatch` walking the batch one record at a
 * time, one partition at a time, with autoCommit and auto-resolve OFF. Each record's offset is
 * committed to the group coordinator right after its handler resolved, and never otherwise, so
 * a restart resumes after the last record handled (at most the one in progress is delivered
 * again, if the process died between handler and commit). eachBatch rather than eachMessage
 * because consumer.commitOffsets() is silently skipped once stop() has begun, which would lose
 * the commit of the handler stop() waits for.
 *
 * A handler that throws gets the same record again after a back-off, in the same eachBatch call
 * (heartbeating in between, so the group does not evict us); nothing after it on its partition
 * is delivered meanwhile. A value that is not a JSON object is treated like a failing handler:
 * retried and logged, never skipped — an operator must look. One handler call must end within
 * the session timeout (30 s): kafkajs heartbeats only between our calls, and a member quiet for
 * longer is evicted (its record, not committed, then goes to another member). If kafkajs gives
 * up on a consumer for good (a crash it will not restart), the subscription starts a new one
 * after a back-off.
 *
 * Consumer lag: the group's committed offsets (admin fetchOffsets) against the topic's
 * watermarks (admin fetchTopicOffsets), summed over partitions — what the group coordinator
 * holds, so any replica reads the same number. A topic that does not exist yet is an error, not
 * a lag of 0.
 *
 * Topics: created on first use when missing (admin, `partitions` per topic, default 6,
 * replication min(3, brokers)); with `topics.create: false` they must be provisioned, and a
 * missing topic fails publish/subscribe instead of being auto-created with broker defaults.
 */
import {
  Partitioners,
  type Admin,
  type Consumer,
  type EachBatchPayload,
  type Kafka,
  type KafkaMessage,
  type Producer,
  type RecordMetadata,
} from 'kafkajs';
import type { Logger } from '../platform/logger.ts';
import { retry, type RetryPolicy } from '../platform/retry.ts';
import { wakeableSleep } from '../platform/wakeable-sleep.ts';
import {
  valueTextOf,
  type ConsumedEvent,
  type EventBus,
  type OutgoingEvent,
  type PublishedEvent,
  type SubscribeOptions,
  type Subscription,
} from './event-bus.ts';
import { handlerRetryDelayMs } from './handler-retry.ts';
import { keyPartition } from './murmur2.ts';
import { createTopicWithLeaders } from './kafka-client.ts';

interface KafkaTopicOptions {
  /** Create topics that do not exist yet (default true). */
  readonly create?: boolean;
  /** Partitions of a created topic (default 6). */
  readonly partitions?: number;
  /** Replicas of a created topic (default: min(3, number of brokers)). */
  readonly replicationFactor?: number;
}

export interface KafkaEventBusOptions {
  readonly kafka: Kafka;
  readonly logger: Logger;
  readonly topics?: KafkaTopicOptions;
  /** Wait before a failed handler gets its record again, by failures so far (default: handler-retry.ts, jittered, up to 30 s). */
  readonly retryDelayMs?: (failures: number) => number;
  /** Longest a fetch waits for new records; also bounds how long stop() waits for an idle consumer (default 1000). */
  readonly maxWaitTimeInMs?: number;
}

export const DEFAULT_PARTITIONS = 6;

/** Protocol errors after which a producer's sequence numbers can no longer be trusted: start a new one. */
const PRODUCER_STATE_ERRORS = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'UNKNOWN_PRODUCER_ID',
  'INVALID_PRODUCER_EPOCH',
  'INVALID_PRODUCER_ID_MAPPING',
]);

interface Placement {
  readonly topic: string;
  readonly partition: number;
}

/**
 * Where each record landed, from the partition each was sent to and the broker's answer (one base
 * offset per topic-partition): the n-th record of a topic-partition is at base offset + n.
 */
export function recordOffsets(placements: readonly Placement[], metadata: readonly RecordMetadata[]): PublishedEvent[] {
  const seen = new Map<string, number>();
  return placements.map(({ topic, partition }) => {
    const slot = `${topic}\u0000${partition}`;
    const index = seen.get(slot) ?? 0;
    seen.set(slot, index + 1);
    const answer = metadata.find((entry) => entry.topicName === topic && entry.partition === partition);
    const base = answer?.baseOffset ?? answer?.offset;
    if (base === undefined) {
      throw new Error(`Kafka acknowledged the publish without an offset for ${topic} partition ${partition}`);
    }
    return { topic, partition, offset: (BigInt(base) + BigInt(index)).toString() };
  });
}

/** A lag read's retries of a coordinator that is busy for a moment: at most ~1.5 s of waiting. */
const LAG_RETRY_POLICY: RetryPolicy = {
  initialDelayMs: 200,
  maxDelayMs: 800,
  multiplier: 2,
  horizonMs: 3_000,
  maxRetryAfterMs: 0,
};

/** One partition's watermarks, as kafkajs' admin.fetchTopicOffsets() gives them. */
export interface PartitionWatermarks {
  readonly partition: number;
  readonly high: string;
  readonly low: string;
}

/**
 * Records a group has not committed, summed over the topic's partitions: high watermark minus
 * the committed offset, where kafkajs says "-1" for a partition the group never committed (then
 * from the low watermark, where a fromBeginning group starts), and an offset below the low
 * watermark (the records it pointed at were deleted by retention) also counts from there.
 */
export function consumerLagOf(
  watermarks: readonly PartitionWatermarks[],
  committed: readonly { readonly partition: number; readonly offset: string }[],
): number {
  let lag = 0n;
  for (const { partition, high, low } of watermarks) {
    const offset = BigInt(committed.find((entry) => entry.partition === partition)?.offset ?? '-1');
    const from = offset < BigInt(low) ? BigInt(low) : offset;
    if (BigInt(high) > from) lag += BigInt(high) - from;
  }
  return Number(lag);
}

export function createKafkaEventBus(options: KafkaEventBusOptions): EventBus {
  const { kafka } = options;
  const logger = options.logger.child({ component: 'kafka-event-bus' });
  const createTopics = options.topics?.create ?? true;
  const partitions = options.topics?.partitions ?? DEFAULT_PARTITIONS;
  const retryDelayMs = options.retryDelayMs ?? handlerRetryDelayMs;
  const maxWaitTimeInMs = options.maxWaitTimeInMs ?? 1000;

  let admin: ReturnType<Kafka['admin']> | undefined;
  let adminConnecting: Promise<ReturnType<Kafka['admin']>> | undefined;
  const topicsReady = new Map<string, Promise<void>>();
  const subscriptions = new Set<Subscription>();

  const connectedAdmin = async (): Promise<ReturnType<Kafka['admin']>> => {
    adminConnecting ??= (async () => {
      const created = kafka.admin();
      try {
        await created.connect();
      } catch (error) {
        adminConnecting = undefined;
        throw error;
      }
      admin = created;
      return created;
    })();
    return adminConnecting;
  };

  const ensureTopics = async (topics: Iterable<string>): Promise<void> => {
    if (!createTopics) return;
    await Promise.all(
      [...new Set(topics)].map((topic) => {
        let ready = topicsReady.get(topic);
        if (ready === undefined) {
          ready = (async () => {
            const client = await connectedAdmin();
            const replicationFactor =
              options.topics?.replicationFactor ?? Math.min(3, (await client.describeCluster()).brokers.length);
            const created = await createTopicWithLeaders(client, {
              topic,
              numPartitions: partitions,
              replicationFactor,
            });
            if (created) logger.info({ topic, partitions, replicationFactor }, 'created topic');
          })();
          // A failed attempt is forgotten, so the next publish/subscribe tries again.
          ready.catch(() => topicsReady.delete(topic));
          topicsReady.set(topic, ready);
        }
        return ready;
      }),
    );
  };

  // --- consumer lag ----------------------------------------------------------------------------

  /**
   * An admin client of its own for lag reads, retrying once: /metrics must answer within a
   * scrape's timeout, and the shared admin's retries (topic creation) could take tens of seconds.
   * Dropped after a failure, so the next read connects afresh.
   */
  let lagAdmin: Admin | undefined;
  const consumerLag = async (groupId: string, topic: string): Promise<number> => {
    const client = (lagAdmin ??= kafka.admin({ retry: { retries: 1 } }));
    try {
      await client.connect();
      // Offsets first: a record produced in between can only make the answer larger, never hide one.
      // kafkajs retries fetchTopicOffsets itself, not fetchOffsets, whose coordinator may answer
      // "loading" for a moment (seen on a fresh group): a few quick tries, well within a scrape.
      const [offsets] = await retry(() => client.fetchOffsets({ groupId, topics: [topic] }), LAG_RETRY_POLICY, {
        maxAttempts: 4,
        bail: (error) => !isRetriableKafkaError(error),
      });
      const watermarks = await client.fetchTopicOffsets(topic);
      return consumerLagOf(watermarks, offsets?.partitions ?? []);
    } catch (error) {
      if (lagAdmin === client) lagAdmin = undefined;
      await client.disconnect().catch(() => undefined);
      throw error;
    }
  };

  // --- publishing ------------------------------------------------------------------------------

  /** The partition kafkajs' default partitioner chose for each message object, as it chooses. */
  const chosenPartition = new WeakMap<object, number>();
  let producer: Producer | undefined;
  let producerConnecting: Promise<Producer> | undefined;
  let queue: Promise<unknown> = Promise.resolve();

  const connectedProducer = async (): Promise<Producer> => {
    producerConnecting ??= (async () => {
      const created = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        createPartitioner: () => {
          // Keyed records (all of ours) by the same hash as kafkajs' default, computed cheaply
          // (murmur2.ts); anything else as kafkajs would place it.
          const partitioner = Partitioners.DefaultPartitioner();
          return (args) => {
            const { message, partitionMetadata } = args;
            const partition =
              message.partition === undefined && message.key !== undefined && message.key !== null
                ? keyPartition(message.key, partitionMetadata.length)
                : partitioner(args);
            chosenPartition.set(message, partition);
            return partition;
          };
        },
      });
      try {
        await created.connect();
      } catch (error) {
        producerConnecting = undefined;
        throw error;
      }
      producer = created;
      return created;
    })();
    return producerConnecting;
  };

  const dropProducer = async (): Promise<void> => {
    const current = producer;
    producer = undefined;
    producerConnecting = undefined;
    await current?.disconnect().catch(() => undefined);
  };

  const send = async (events: readonly OutgoingEvent[]): Promise<PublishedEvent[]> => {
    if (events.length === 0) return [];
    await ensureTopics(events.map((event) => event.topic));
    const messages = events.map((event) => ({
      key: event.key,
      value: valueTextOf(event),
      headers: { ...event.headers },
    }));
    const byTopic = new Map<string, typeof messages>();
    events.forEach((event, index) => {
      const list = byTopic.get(event.topic) ?? [];
      list.push(messages[index] as (typeof messages)[number]);
      byTopic.set(event.topic, list);
    });
    const client = await connectedProducer();
    let metadata: RecordMetadata[];
    try {
      metadata = await client.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, list]) => ({ topic, messages: list })),
      });
    } catch (error) {
      if (hasProducerStateError(error)) {
        logger.warn({ err: error }, 'producer state lost; the next publish starts a new idempotent producer');
        await dropProducer();
      }
      throw error;
    }
    const placements = events.map((event, index) => {
      const partition = chosenPartition.get(messages[index] as object);
      if (partition === undefined) throw new Error(`no partition was chosen for a record on ${event.topic}`);
      return { topic: event.topic, partition };
    });
    return recordOffsets(placements, metadata);
  };

  // --- consuming -------------------------------------------------------------------------------

  const subscribe = async (subscription: SubscribeOptions): Promise<Subscription> => {
    const { groupId, topics, fromBeginning, handler } = subscription;
    const log = logger.child({ groupId });
    await ensureTopics(topics);

    let stopping = false;
    const retryWait = wakeableSleep();
    let restartTimer: NodeJS.Timeout | undefined;
    let consumer: Consumer | undefined;

    /** Calls the handler until it succeeds (true), or until we stop or lose the partition (false). */
    const handleRecord = async (payload: EachBatchPayload, message: KafkaMessage): Promise<boolean> => {
      const { topic, partition } = payload.batch;
      for (let failures = 0; ;) {
        try {
          await handler(toConsumed(topic, partition, message));
          return true;
        } catch (error) {
          failures += 1;
          const delay = retryDelayMs(failures);
          log.warn(
            { err: error, topic, partition, offset: message.offset, failures, retryInMs: delay },
            'handler failed; the same record is retried',
          );
          await retryWait.sleep(delay);
          if (stopping || !payload.isRunning() || payload.isStale()) return false;
          // Keeps our membership while we retry; throws when the group rebalances, and then the
          // record (not committed) goes to whoever gets the partition.
          await payload.heartbeat();
        }
      }
    };

    const eachBatch = async (payload: EachBatchPayload): Promise<void> => {
      const { topic, partition, messages } = payload.batch;
      for (const message of messages) {
        if (!payload.isRunning() || payload.isStale()) return;
        // Not handled: neither resolved nor committed, so it comes again when the group resumes.
        if (!(await handleRecord(payload, message))) return;
        // Straight to the group coordinator, even while stopping (consumer.commitOffsets() would
        // silently skip it then): the record just handled must count as handled.
        await payload.commitOffsetsIfNecessary({
          topics: [{ topic, partitions: [{ partition, offset: (BigInt(message.offset) + 1n).toString() }] }],
        });
        payload.resolveOffset(message.offset);
        await payload.heartbeat();
      }
    };

    const start = async (): Promise<void> => {
      const created = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs });
      consumer = created;
      created.on(created.events.CRASH, ({ payload }) => {
        if (payload.restart || stopping) return;
        log.error({ err: payload.error }, 'consumer crashed for good; starting a new one');
        scheduleRestart();
      });
      await created.connect();
      await created.subscribe({ topics: [...topics], fromBeginning });
      await created.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch,
      });
    };

    let restarts = 0;
    const scheduleRestart = (): void => {
      restarts += 1;
      restartTimer = setTimeout(() => {
        restartTimer = undefined;
        if (stopping) return;
        start().then(
          () => {
            restarts = 0;
          },
          (error: unknown) => {
            log.error({ err: error }, 'could not restart the consumer; trying again');
            scheduleRestart();
          },
        );
      }, retryDelayMs(restarts));
    };

    try {
      await start();
    } catch (error) {
      await consumer?.disconnect().catch(() => undefined);
      throw error;
    }

    const handle: Subscription = {
      async stop() {
        if (stopping) return;
        stopping = true;
        clearTimeout(restartTimer);
        retryWait.wake();
        subscriptions.delete(handle);
        // kafkajs' stop waits for the eachMessage in progress (handler and commit) to finish.
        await consumer?.disconnect();
      },
    };
    subscriptions.add(handle);
    return handle;
  };

  return {
    publish(events) {
      const result = queue.then(() => send(events));
      queue = result.catch(() => undefined);
      return result;
    },
    subscribe,
    consumerLag,
    async ping() {
      const client = await connectedAdmin();
      await client.describeCluster();
    },
    async close() {
      await Promise.all([...subscriptions].map((subscription) => subscription.stop()));
      await queue;
      await dropProducer();
      const lag = lagAdmin;
      lagAdmin = undefined;
      await lag?.disconnect().catch(() => undefined);
      const current = admin;
      admin = undefined;
      adminConnecting = undefined;
      await current?.disconnect();
    },
  };
}

function toConsumed(topic: string, partition: number, message: KafkaMessage): ConsumedEvent {
  const text = message.value?.toString('utf8') ?? '';
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`the record at ${topic}/${partition}/${message.offset} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`the record at ${topic}/${partition}/${message.offset} is not a JSON object`);
  }
  const headers: Record<string, string> = {};
  for (const [name, raw] of Object.entries(message.headers ?? {})) {
    const first = Array.isArray(raw) ? raw[0] : raw;
    if (first !== undefined) headers[name] = first.toString();
  }
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key?.toString('utf8') ?? '',
    value: value as Record<string, unknown>,
    headers,
  };
}

function hasProducerStateError(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current !== undefined && depth < 10; depth += 1) {
    if (typeof current !== 'object' || current === null) return false;
    const { type, cause } = current as { type?: unknown; cause?: unknown };
    if (typeof type === 'string' && PRODUCER_STATE_ERRORS.has(type)) return true;
    current = cause;
  }
  return false;
}

/**
 * A kafkajs error it says may pass on retry. By shape, not `instanceof KafkaJSError`: kafkajs is
 * CommonJS and spreads its error classes into its exports, which Node's ESM loader cannot see, so
 * a named import of KafkaJSError fails when the service runs (jest's CommonJS transform hid it).
 */
function isRetriableKafkaError(error: unknown): boolean {
  return (
    error instanceof Error &&
    error.name.startsWith('KafkaJS') &&
    (error as Error & { retriable?: unknown }).retriable === true
  );
}
