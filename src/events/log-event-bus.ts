/**
 * The EventBus on the store's own event log: the embedded default when no Kafka broker is
 * configured. One process: every topic has a single partition (0), and a consumer group is one
 * subscription at a time (a second subscribe with a group already consuming in this bus is
 * refused; several processes sharing a log need Kafka instead).
 *
 * Publishing appends to the log in one call; the store makes it durable before append()
 * resolves, and the record's offset is the log's offset. Subscribers in this process are woken
 * at once; others find the records at their next poll.
 *
 * Consuming: a loop per subscription reads from the group's committed offset, calls the handler
 * for one record at a time in offset order, and commits offset + 1 after the handler resolved,
 * never before. A handler that throws gets the same record again after a back-off, and nothing
 * after it is delivered meanwhile. A failing log (read or commit) is retried the same way; a
 * record whose commit failed is delivered again (at least once). stop() lets the handler in
 * progress finish (and commits it if it succeeded), then ends the loop.
 *
 * Consumer lag: the topic's end offset minus the group's committed offset (or minus the topic's
 * first offset when the group never committed), read from the log like any other process could.
 */
import type { Logger } from '../platform/logger.ts';
import { wakeableSleep } from '../platform/wakeable-sleep.ts';
import type { EventLog, StoredLogRecord } from '../store/store.ts';
import {
  valueTextOf,
  type ConsumedEvent,
  type EventBus,
  type SubscribeOptions,
  type Subscription,
} from './event-bus.ts';
import { handlerRetryDelayMs } from './handler-retry.ts';

export interface LogEventBusOptions {
  readonly log: EventLog;
  readonly logger: Logger;
  /** How often an idle subscription looks for records published by another process (default 500). */
  readonly pollIntervalMs?: number;
  /** Wait before a failed handler (or log operation) is tried again, by failures so far (default: handler-retry.ts, jittered, up to 30 s). */
  readonly retryDelayMs?: (failures: number) => number;
  /** Records read per query (default 100). */
  readonly batchSize?: number;
  /** The append time written to the log. */
  readonly clock?: () => Date;
}

/** A topic name no one publishes to, read by ping(). */
const PING_TOPIC = '__hit-bridge.ping';

/**
 * The offset after the last record of a topic (0 when empty), found with O(log n) reads of one
 * record each: the EventLog has no "end" query, and offsets may have gaps.
 */
export async function endOffset(log: EventLog, topic: string): Promise<number> {
  const firstAtOrAfter = async (offset: number): Promise<number | undefined> =>
    (await log.read(topic, offset, 1))[0]?.offset;
  let known = await firstAtOrAfter(0);
  if (known === undefined) return 0;
  // Gallop: `known` is a record's offset, `beyond` an offset with nothing at or after it.
  let step = 1;
  let found = await firstAtOrAfter(known + step);
  while (found !== undefined) {
    known = found;
    step *= 2;
    found = await firstAtOrAfter(known + step);
  }
  let beyond = known + step;
  // Bisect between them.
  while (beyond - known > 1) {
    const middle: number = known + Math.floor((beyond - known) / 2);
    const at = await firstAtOrAfter(middle);
    if (at === undefined) beyond = middle;
    else known = at;
  }
  return known + 1;
}

export function createLogEventBus(options: LogEventBusOptions): EventBus {
  const { log } = options;
  const logger = options.logger.child({ component: 'log-event-bus' });
  const pollIntervalMs = options.pollIntervalMs ?? 500;
  const retryDelayMs = options.retryDelayMs ?? handlerRetryDelayMs;
  const batchSize = options.batchSize ?? 100;
  const clock = options.clock ?? (() => new Date());

  const activeGroups = new Set<string>();
  const subscriptions = new Set<Subscription>();
  /** Wakes idle subscriptions of this bus when something is published. */
  const pollWakers = new Set<() => void>();

  const subscribe = async (subscription: SubscribeOptions): Promise<Subscription> => {
    const { groupId, fromBeginning, handler } = subscription;
    const topics = [...new Set(subscription.topics)];
    if (activeGroups.has(groupId)) {
      throw new Error(`consumer group ${groupId} is already consuming from this log`);
    }
    activeGroups.add(groupId);
    const glog = logger.child({ groupId });

    let stopping = false;
    /** A call, so the compiler does not assume it unchanged across the loop's awaits. */
    const isStopping = (): boolean => stopping;
    const next = new Map<string, number>();
    try {
      for (const topic of topics) {
        let position = await log.committedOffset(groupId, topic);
        if (position === 0 && !fromBeginning) {
          // Start at the end, and remember it, so a restart does not jump over what came since.
          position = await endOffset(log, topic);
          if (position > 0) await log.commitOffset(groupId, topic, position);
        }
        next.set(topic, position);
      }
    } catch (error) {
      activeGroups.delete(groupId);
      throw error;
    }

    const retryWait = wakeableSleep();
    // A publish wakes every subscription's poll at once.
    const pollWait = wakeableSleep();
    pollWakers.add(pollWait.wake);

    /** Calls the handler until it succeeds (true) or the subscription stops (false). */
    const deliver = async (record: StoredLogRecord): Promise<boolean> => {
      for (let failures = 0; ;) {
        try {
          await handler(toConsumed(record));
          return true;
        } catch (error) {
          failures += 1;
          const delay = retryDelayMs(failures);
          glog.warn(
            { err: error, topic: record.topic, offset: record.offset, failures, retryInMs: delay },
            'handler failed; the same record is retried',
          );
          await retryWait.sleep(delay);
          if (isStopping()) return false;
        }
      }
    };

    const loop = async (): Promise<void> => {
      let logFailures = 0;
      while (!isStopping()) {
        let progressed = false;
        try {
          for (const topic of topics) {
            if (isStopping()) break;
            const records = await log.read(topic, next.get(topic) ?? 0, batchSize);
            for (const record of records) {
              if (isStopping() || !(await deliver(record))) break;
              await log.commitOffset(groupId, topic, record.offset + 1);
              next.set(topic, record.offset + 1);
              progressed = true;
            }
          }
          logFailures = 0;
        } catch (error) {
          // The position only moves after a commit, so the record in hand comes again.
          logFailures += 1;
          const delay = retryDelayMs(logFailures);
          glog.error({ err: error, failures: logFailures, retryInMs: delay }, 'event log failed; retrying');
          await retryWait.sleep(delay);
          continue;
        }
        if (!progressed && !isStopping()) await pollWait.sleep(pollIntervalMs);
      }
    };

    const running = loop();
    const handle: Subscription = {
      async stop() {
        stopping = true;
        retryWait.wake();
        pollWait.wake();
        await running;
        pollWakers.delete(pollWait.wake);
        subscriptions.delete(handle);
        activeGroups.delete(groupId);
      },
    };
    subscriptions.add(handle);
    return handle;
  };

  return {
    async publish(events) {
      if (events.length === 0) return [];
      const offsets = await log.append(
        events.map((event) => ({
          topic: event.topic,
          key: event.key,
          value: valueTextOf(event),
          headers: { ...event.headers },
        })),
        clock(),
      );
      if (offsets.length !== events.length) {
        throw new Error(`the event log gave ${offsets.length} offsets for ${events.length} records`);
      }
      for (const wake of [...pollWakers]) wake();
      return events.map((event, index) => ({ topic: event.topic, partition: 0, offset: String(offsets[index]) }));
    },
    subscribe,
    async consumerLag(groupId, topic) {
      // The commit first: a record appended in between can only make the answer larger, never hide one.
      const committed = await log.committedOffset(groupId, topic);
      const end = await endOffset(log, topic);
      const first = (await log.read(topic, 0, 1))[0]?.offset ?? end;
      return Math.max(0, end - Math.max(committed, first));
    },
    async ping() {
      await log.read(PING_TOPIC, 0, 1);
    },
    async close() {
      await Promise.all([...subscriptions].map((subscription) => subscription.stop()));
    },
  };
}

function toConsumed(record: StoredLogRecord): ConsumedEvent {
  let value: unknown;
  try {
    value = JSON.parse(record.value);
  } catch {
    throw new Error(`the record at ${record.topic}/${record.offset} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`the record at ${record.topic}/${record.offset} is not a JSON object`);
  }
  return {
    topic: record.topic,
    partition: 0,
    offset: String(record.offset),
    key: record.key,
    value: value as Record<string, unknown>,
    headers: { ...record.headers },
  };
}
