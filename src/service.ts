/**
 * Wires the service from its configuration and runs it; `stop()` shuts it down in the reverse
 * order (stop accepting → finish in-flight requests → close clients), bounded by a timeout.
 * Exported for tests, which start the whole service in-process on port 0.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createApp } from './intake/app.ts';
import { loadContracts } from './intake/contracts.ts';
import { ehrReadiness } from './delivery/ehr-readiness.ts';
import { createKafka, kafkaReadiness } from './events/kafka-client.ts';
import { describeConfig, type Config } from './platform/config.ts';
import type { Logger } from './platform/logger.ts';
import type { ReadinessCheck } from './platform/readiness.ts';
import { createPostgresPool, postgresReadiness } from './store/postgres-pool.ts';

export interface RunningService {
  readonly port: number;
  readonly url: string;
  /** Resolves once everything is closed; rejects if that took longer than SHUTDOWN_TIMEOUT_MS. */
  stop(): Promise<void>;
}

export async function startService(config: Config, logger: Logger): Promise<RunningService> {
  const readiness: ReadinessCheck[] = [];
  const closers: (() => Promise<void>)[] = [];

  if (config.DATABASE_URL) {
    const pool = createPostgresPool(config.DATABASE_URL);
    readiness.push(postgresReadiness(pool));
    closers.push(() => pool.end());
  }
  if (config.KAFKA_BROKERS) {
    const kafkaCheck = kafkaReadiness(createKafka(config.KAFKA_BROKERS, logger), config.READINESS_TIMEOUT_MS);
    readiness.push(kafkaCheck);
    closers.push(() => kafkaCheck.close());
  }
  if (config.EHR_BASE_URL) readiness.push(ehrReadiness(config.EHR_BASE_URL));

  const app = createApp({
    logger,
    readiness,
    readinessTimeoutMs: config.READINESS_TIMEOUT_MS,
    contracts: loadContracts(),
    mappingOptions: { ncmpDipsCoding: config.NCMP_DIPS_CODING },
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
  });
  const server = app.listen(config.PORT, config.HOST);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  logger.info({ port, config: describeConfig(config) }, 'listening');

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= shutdown();
    return stopping;
  };

  async function shutdown(): Promise<void> {
    logger.info('shutting down: no new requests, finishing in-flight ones');
    const timeout = new Promise<never>((_, reject) => {
      setTimeout(() => {
        // Past the bound, in-flight requests are cut off: the caller is about to exit anyway.
        server.closeAllConnections();
        reject(new Error(`shutdown took longer than ${config.SHUTDOWN_TIMEOUT_MS} ms`));
      }, config.SHUTDOWN_TIMEOUT_MS).unref();
    });
    const orderly = (async () => {
      const closed = new Promise<void>((resolve, reject) => {
        server.close((error) => {
          if (error) reject(error);
          else resolve();
        });
      });
      // A keep-alive socket holds close() open until it times out, and a request in flight turns
      // its socket idle only when it ends: keep sweeping idle sockets until the server is closed.
      server.closeIdleConnections();
      const sweep = setInterval(() => {
        server.closeIdleConnections();
      }, 50);
      await closed.finally(() => {
        clearInterval(sweep);
      });
      await Promise.allSettled(closers.map((close) => close()));
    })();
    await Promise.race([orderly, timeout]);
    logger.info('stopped');
  }

  return { port, url: `http://127.0.0.1:${port}`, stop };
}
