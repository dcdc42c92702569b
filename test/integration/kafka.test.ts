/**
 * The guarantees hit-bridge relies on from Kafka, shown against the real broker the harness started
 * (test/peers/kafka.ts, broker list in KAFKA_BROKERS): an idempotent producer with acks=all keeps
 * one patient's events in order and never duplicates them, and a transaction that is aborted is
 * never seen by a read-committed consumer while a committed one is seen exactly once.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, Partitioners, logLevel, type Admin, type Consumer, type KafkaMessage, type Producer } from 'kafkajs';
import { createTopicWithLeaders } from '../../src/events/kafka-client.ts';
import { until } from '../support/until.ts';

const brokers = (process.env.KAFKA_BROKERS ?? '')
  .split(',')
  .map((broker) => broker.trim())
  .filter((broker) => broker !== '');

const PARTITIONS = 4;
const KEYS = 20;
const MESSAGES_PER_KEY = 50;

jest.setTimeout(120_000);

function kafkaClient(): Kafka {
  if (brokers.length === 0) {
    throw new Error('KAFKA_BROKERS is not set: run these tests through test/peers/with-peers.ts (npm run test:peers)');
  }
  return new Kafka({ clientId: `hit-bridge-test-${randomUUID()}`, brokers, logLevel: logLevel.WARN });
}

/** Collects what a consumer received, so the test can wait for a condition instead of sleeping. */
interface Received {
  partition: number;
  message: KafkaMessage;
}

const waitFor = (what: string, condition: () => boolean, timeoutMs = 60_000) => until(what, condition, timeoutMs);

function text(buffer: Buffer | null): string {
  return buffer === null ? '' : buffer.toString('utf8');
}

describe('Kafka broker (real, from test/peers)', () => {
  let kafka: Kafka;
  let admin: Admin;
  let topic: string;
  const producers: Producer[] = [];
  const consumers: Consumer[] = [];

  beforeEach(async () => {
    kafka = kafkaClient();
    admin = kafka.admin();
    await admin.connect();
    topic = `test.kafka.${randomUUID()}`;
    await createTopicWithLeaders(admin, { topic, numPartitions: PARTITIONS, replicationFactor: 1 });
  });

  afterEach(async () => {
    for (const consumer of consumers.splice(0)) await consumer.disconnect();
    for (const producer of producers.splice(0)) await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  async function startConsumer(
    options: { readUncommitted: boolean },
    received: Received[],
  ): Promise<{ consumer: Consumer; groupId: string }> {
    const groupId = `test-group-${randomUUID()}`;
    const consumer = kafka.consumer({ groupId, readUncommitted: options.readUncommitted });
    consumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ partition, message }) => {
        received.push({ partition, message });
        return Promise.resolve();
      },
    });
    return { consumer, groupId };
  }

  it('delivers 1,000 keyed messages from an idempotent producer to a consumer group exactly once, in order per key', async () => {
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    producers.push(producer);
    await producer.connect();

    // 20 keys x 50 messages; each send carries the next sequence number of every key.
    for (let seq = 0; seq < MESSAGES_PER_KEY; seq += 1) {
      await producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: KEYS }, (_, k) => ({
          key: `patient-${k}`,
          value: JSON.stringify({ key: `patient-${k}`, seq }),
        })),
      });
    }

    const received: Received[] = [];
    await startConsumer({ readUncommitted: false }, received);
    await waitFor('1,000 messages', () => received.length >= KEYS * MESSAGES_PER_KEY);

    // The log holds exactly 1,000 records (no retry duplicates) and the group has read up to its end.
    const offsets = await admin.fetchTopicOffsets(topic);
    const inLog = offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
    expect(inLog).toBe(KEYS * MESSAGES_PER_KEY);
    for (const p of offsets) {
      const lastRead = received.filter((r) => r.partition === p.partition).map((r) => Number(r.message.offset));
      expect(lastRead.length === 0 ? 0 : Math.max(...lastRead) + 1).toBe(Number(p.high));
    }
    expect(received).toHaveLength(KEYS * MESSAGES_PER_KEY);

    // Per key: the sequence 0..49, each once and in order.
    const seqsByKey = new Map<string, number[]>();
    for (const { message } of received) {
      const body = JSON.parse(text(message.value)) as { key: string; seq: number };
      expect(text(message.key)).toBe(body.key);
      seqsByKey.set(body.key, [...(seqsByKey.get(body.key) ?? []), body.seq]);
    }
    expect(seqsByKey.size).toBe(KEYS);
    const expected = Array.from({ length: MESSAGES_PER_KEY }, (_, seq) => seq);
    for (const seqs of seqsByKey.values()) expect(seqs).toEqual(expected);
  });

  it('hides an aborted transaction from a read-committed consumer and shows a committed one exactly once', async () => {
    const producer = kafka.producer({
      transactionalId: `test-tx-${randomUUID()}`,
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    producers.push(producer);
    await producer.connect();

    const batch = (kind: string) =>
      Array.from({ length: 10 }, (_, i) => ({ key: `patient-${i}`, value: `${kind}-${i}` }));

    const aborted = await producer.transaction();
    await aborted.send({ topic, acks: -1, messages: batch('aborted') });
    await aborted.abort();

    const committed = await producer.transaction();
    await committed.send({ topic, acks: -1, messages: batch('committed') });
    await committed.commit();

    // A plain end marker on every partition: once the consumer has seen all of them, it has read
    // past everything written before them (order within a partition), with no sleep.
    const marker = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    producers.push(marker);
    await marker.connect();
    await marker.send({
      topic,
      acks: -1,
      messages: Array.from({ length: PARTITIONS }, (_, partition) => ({ partition, value: 'end' })),
    });

    const received: Received[] = [];
    await startConsumer({ readUncommitted: false }, received);
    await waitFor(
      'the end marker on every partition',
      () =>
        new Set(received.filter((r) => text(r.message.value) === 'end').map((r) => r.partition)).size === PARTITIONS,
    );

    const values = received.map((r) => text(r.message.value)).filter((value) => value !== 'end');
    expect(values.filter((value) => value.startsWith('aborted'))).toEqual([]);
    expect([...values].sort()).toEqual(
      batch('committed')
        .map((m) => m.value)
        .sort(),
    );
  });
});
