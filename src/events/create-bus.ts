/** Picks the EventBus adapter from the configuration: Kafka when KAFKA_BROKERS is set, else the store's own log. */
import type { Config } from '../platform/config.ts';
import type { Logger } from '../platform/logger.ts';
import type { ReadinessCheck } from '../platform/readiness.ts';
import type { Store } from '../store/store.ts';
import type { EventBus } from './event-bus.ts';
import { createLogEventBus } from './log-event-bus.ts';

export interface ConfiguredBus {
  readonly bus: EventBus;
  /** Kafka's own readiness check; the log bus is ready when the store is. */
  readonly readiness: ReadinessCheck | undefined;
  close(): Promise<void>;
}

export async function createConfiguredBus(
  config: Config,
  store: Store,
  logger: Logger,
  clock: () => Date,
): Promise<ConfiguredBus> {
  if (config.KAFKA_BROKERS === undefined) {
    const bus = createLogEventBus({ log: store.log, logger, clock });
    return { bus, readiness: undefined, close: () => bus.close() };
  }
  // kafkajs is loaded only when there is a broker to talk to: an embedded installation never needs it.
  const [{ createKafka, kafkaReadiness }, { createKafkaEventBus }] = await Promise.all([
    import('./kafka-client.ts'),
    import('./kafka-event-bus.ts'),
  ]);
  const kafka = createKafka(config.KAFKA_BROKERS, logger);
  const bus = createKafkaEventBus({ kafka, logger });
  const check = kafkaReadiness(kafka, config.READINESS_TIMEOUT_MS);
  return {
    bus,
    readiness: check,
    async close() {
      await check.close();
      await bus.close();
    },
  };
}
