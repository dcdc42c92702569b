/**
 * The EventBus contract against both adapters: Kafka (the real broker from test/peers,
 * KAFKA_BROKERS) and the store's event log.
 *
 * The log adapter runs on the real SQLite store (a temporary file per test), the embedded default.
 * Below the contract, what only Kafka has: a topic that does not exist.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createKafka } from '../../src/events/kafka-client.ts';
import { createKafkaEventBus } from '../../src/events/kafka-event-bus.ts';
import { createLogEventBus } from '../../src/events/log-event-bus.ts';
import { createSqliteStore } from '../../src/store/sqlite-store.ts';
import { peerEnv } from '../support/peers-env.ts';
import { describeEventBusContract } from './event-bus.contract.ts';

const silent = pino({ level: 'silent' });
const fastRetries = (): number => 100;

describeEventBusContract('store event log (SQLite store)', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'hit-bridge-event-bus-'));
  const store = createSqliteStore({ file: join(directory, 'hit-bridge.db') });
  await store.migrate();
  const bus = createLogEventBus({ log: store.log, logger: silent, pollIntervalMs: 50, retryDelayMs: fastRetries });
  return {
    bus,
    topic: () => `test.event-bus.${randomUUID()}`,
    async close() {
      await bus.close();
      await store.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
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

describe('Kafka event bus beyond the contract', () => {
  it('rejects a lag read for a topic that does not exist, rather than answering 0 (and creates no topic)', async () => {
    const kafka = createKafka(peerEnv('KAFKA_BROKERS'), silent);
    const bus = createKafkaEventBus({ kafka, logger: silent });
    const topic = `test.event-bus.missing.${randomUUID()}`;
    try {
      await expect(bus.consumerLag(`group-${randomUUID()}`, topic)).rejects.toThrow();
      const admin = kafka.admin();
      await admin.connect();
      try {
        expect(await admin.listTopics()).not.toContain(topic);
      } finally {
        await admin.disconnect();
      }
    } finally {
      await bus.close();
    }
  });
});
