/**
 * The composition root and process entry point: read the configuration (stop with one line per
 * wrong variable), create the logger, start the service, and stop it on SIGTERM/SIGINT.
 */
import { loadConfig } from './platform/config.ts';
import { createLogger } from './platform/logger.ts';
import { startService } from './service.ts';

// EX_CONFIG from sysexits.h: the operator's configuration is wrong, retrying won't help.
const EXIT_CONFIG = 78;

const loaded = loadConfig(process.env);
if (!loaded.ok) {
  for (const error of loaded.errors) process.stderr.write(`hit-bridge: configuration error: ${error}\n`);
  process.exit(EXIT_CONFIG);
}
const logger = createLogger({ level: loaded.config.LOG_LEVEL, pretty: loaded.config.LOG_PRETTY });
const service = await startService(loaded.config, logger);

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    logger.info({ signal }, 'signal received');
    service.stop().then(
      () => {
        process.exitCode = 0;
        // Clients and timers that outlive a clean shutdown must not keep a stopped service alive.
        setTimeout(() => process.exit(), 100).unref();
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown did not finish in time; exiting anyway');
        process.exit(1);
      },
    );
  });
}
