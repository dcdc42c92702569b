/**
 * The composition root and process entry point: read the configuration (stop with one line per
 * wrong variable), create the logger, start the service, and stop it on SIGTERM/SIGINT.
 */
import { loadConfig, redactCategories } from './platform/config.ts';
import { createLogger } from './platform/logger.ts';
import { releaseStartUpGarbage } from './platform/release-start-up-garbage.ts';
import { startTracing } from './platform/tracing.ts';
import { startService } from './service.ts';

// EX_CONFIG from sysexits.h: the operator's configuration is wrong, retrying won't help.
const EXIT_CONFIG = 78;

const loaded = loadConfig(process.env);
if (!loaded.ok) {
  for (const error of loaded.errors) process.stderr.write(`hit-bridge: configuration error: ${error}\n`);
  process.exit(EXIT_CONFIG);
}
const logger = createLogger({
  level: loaded.config.LOG_LEVEL,
  pretty: loaded.config.LOG_PRETTY,
  redact: redactCategories(loaded.config),
});

// Before anything that makes spans; undefined (nothing started) unless an OTLP endpoint is set.
const tracing = await startTracing(loaded.config);
if (tracing !== undefined) logger.info('tracing on: spans are exported over OTLP/HTTP');

// Signal handlers go in before the service starts: a SIGTERM that arrives while it is starting
// (after "listening" is logged, before start-up returns) must still shut it down cleanly.
const lifecycle: { stopRequested: boolean; stop?: () => Promise<void> } = { stopRequested: false };
const shutdown = (): void => {
  // Still starting: start-up finishes first, then sees stopRequested.
  if (lifecycle.stop === undefined) return;
  lifecycle.stop().then(
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
};
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    logger.info({ signal }, 'signal received');
    lifecycle.stopRequested = true;
    shutdown();
  });
}

const service = await startService(loaded.config, logger);
lifecycle.stop = async () => {
  try {
    await service.stop();
  } finally {
    // The last spans (the shutdown's own requests) are exported before the process ends.
    await tracing?.shutdown().catch((error: unknown) => {
      logger.warn({ err: error }, 'exporting the last spans failed');
    });
  }
};
if (lifecycle.stopRequested) shutdown();
// Listening already: a request that comes in meanwhile waits for it, as for any collection.
else releaseStartUpGarbage();
