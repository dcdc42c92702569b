/** The kafkajs client, logging through our logger instead of its own console output. */
import { Kafka, logLevel, type Admin, type logCreator } from 'kafkajs';
import type { Logger } from '../platform/logger.ts';
import type { ReadinessCheck } from '../platform/readiness.ts';

export function createKafka(brokers: string, logger: Logger): Kafka {
  return new Kafka({
    clientId: 'hit-bridge',
    brokers: brokers.split(','),
    logLevel: logLevel.WARN,
    logCreator: kafkaLogCreator(logger.child({ component: 'kafkajs' })),
  });
}

function kafkaLogCreator(logger: Logger): logCreator {
  return () =>
    ({ level, log }) => {
      const { message, ...rest } = log;
      if (level <= logLevel.ERROR) logger.error(rest, message);
      else if (level === logLevel.WARN) logger.warn(rest, message);
      else logger.debug(rest, message);
    };
}

/**
 * Ready when the cluster answers a metadata request. The admin connection is kept between
 * checks; one that failed or hung is dropped, so the next check starts afresh.
 */
export function kafkaReadiness(kafka: Kafka, timeoutMs: number): ReadinessCheck & { close(): Promise<void> } {
  let admin: Admin | undefined;
  const drop = async (): Promise<void> => {
    const current = admin;
    admin = undefined;
    // A broker that accepts connections but never answers would hold disconnect() open too.
    await Promise.race([current?.disconnect(), new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]).catch(
      () => undefined,
    );
  };
  return {
    name: 'kafka',
    critical: true,
    async check(signal) {
      const current = (admin ??= kafka.admin({ retry: { retries: 0 } }));
      const onAbort = (): void => {
        if (admin === current) void drop();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        await current.connect();
        await current.describeCluster();
      } catch (error) {
        if (admin === current) await drop();
        throw error;
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    },
    close: drop,
  };
}

/**
 * Creates a topic (if missing) and waits until every partition has a leader. kafkajs's own
 * `waitForLeaders` retries only "leader not available"; a broker under load may answer
 * "unknown topic or partition" for a moment after creating the topic (seen in CI), which
 * kafkajs then throws — so ask the metadata ourselves until the leaders are there.
 * Returns whether the topic was created by this call.
 */
export async function createTopicWithLeaders(
  admin: Admin,
  topic: { readonly topic: string; readonly numPartitions: number; readonly replicationFactor: number },
  timeoutMs = 60_000,
): Promise<boolean> {
  // waitForLeaders defaults to true in kafkajs: off, we wait below.
  const created = await admin.createTopics({ topics: [topic], waitForLeaders: false });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic.topic] })).topics;
      const partitions = metadata?.partitions ?? [];
      if (partitions.length >= topic.numPartitions && partitions.every((partition) => partition.leader >= 0)) {
        return created;
      }
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    if (Date.now() > deadline)
      throw new Error(`topic ${topic.topic} has no leader on every partition after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
