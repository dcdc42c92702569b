/**
 * The EventBus contract against both adapters: Kafka (the real broker from test/peers,
 * KAFKA_BROKERS) and the store's event log.
 *
 * The log adapter runs here on a small in-memory EventLog, a test fixture only, until the SQLite
 * store (src/store/sqlite-store.ts) is committed; then it runs on that.
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { createKafka } from '../../src/events/kafka-client.ts';
import { createKafkaEventBus } from '../../src/events/kafka-event-bus.ts';
import { createLogEventBus } from '../../src/events/log-event-bus.ts';
import type { EventLog, LogRecord, StoredLogRecord } from '../../src/store/store.ts';
import { peerEnv } from '../support/peers-env.ts';
import { describeEventBusContract } from './event-bus.contract.ts';

const silent = pino({ level: 'silent' });
const fastRetries = (): number => 100;

/** The EventLog port in memory: per-topic offsets from 0, committed offsets per group and topic. */
function memoryEventLog(): EventLog {
  const topics = new Map<string, StoredLogRecord[]>();
  const committed = new Map<string, number>();
  return {
    append(records: readonly LogRecord[], now: Date) {
      return Promise.resolve(
        records.map((record) => {
          const log = topics.get(record.topic) ?? [];
          topics.set(record.topic, log);
          const offset = log.length;
          log.push({ ...record, offset, appendedAt: now });
          return offset;
        }),
      );
    },
    read(topic, fromOffset, limit) {
      const log = topics.get(topic) ?? [];
      return Promise.resolve(log.filter((record) => record.offset >= fromOffset).slice(0, limit));
    },
    committedOffset(group, topic) {
      return Promise.resolve(committed.get(`${group}\n${topic}`) ?? 0);
    },
    commitOffset(group, topic, nextOffset) {
      committed.set(`${group}\n${topic}`, nextOffset);
      return Promise.resolve();
    },
  };
}

describeEventBusContract('store event log (in-memory EventLog)', () => {
  const bus = createLogEventBus({
    log: memoryEventLog(),
    logger: silent,
    pollIntervalMs: 50,
    retryDelayMs: fastRetries,
  });
  return Promise.resolve({ bus, topic: () => `test.event-bus.${randomUUID()}`, close: () => bus.close() });
});

describeEventBusContract('Kafka', async () => {
  const kafka = createKafka(peerEnv('KAFKA_BROKERS'), silent);
  const bus = createKafkaEventBus({
    kafka,
    logger: silent,
    topics: { partitions: 3 },
    retryDelayMs: fastRetries,
    maxWaitTimeInMs: 200,
  });
  const created: string[] = [];
  return Promise.resolve({
    bus,
    topic() {
      const topic = `test.event-bus.${randomUUID()}`;
      created.push(topic);
      return topic;
    },
    async close() {
      await bus.close();
      const admin = kafka.admin();
      await admin.connect();
      await admin.deleteTopics({ topics: created }).catch(() => undefined);
      await admin.disconnect();
    },
  });
});
