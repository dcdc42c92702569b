/**
 * Wires the service from its configuration and runs it; `stop()` shuts it down in the reverse
 * order (stop accepting → finish in-flight requests → close clients), bounded by a timeout.
 * Exported for tests, which start the whole service in-process on port 0.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from './platform/node-http.ts';
import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { EhrProfile, MappingOptions } from '../mappings/common.ts';
import { mappers } from '../mappings/registry.ts';
import { createCircuitBreaker, breakerOptionsFromConfig } from './delivery/circuit-breaker.ts';
import { startEhrDeliveryWorker } from './delivery/ehr-delivery-worker.ts';
import { ehrReadiness } from './delivery/ehr-readiness.ts';
import { createEhrAuth } from './delivery/ehr-auth-settings.ts';
import { createHelseIdClient } from './delivery/helseid.ts';
import { helseIdSettings } from './delivery/helseid-settings.ts';
import { createFhirAuth } from './delivery/fhir-auth.ts';
import { createFhirEhr } from './delivery/fhir-ehr.ts';
import type { Ehr } from './delivery/ehr.ts';
import { TOPICS } from './events/cloud-events.ts';
import { createConfiguredBus } from './events/create-bus.ts';
import { startEventRelayWorker } from './events/event-relay-worker.ts';
import { loadEventSchemas } from './events/event-schemas.ts';
import { createEventValidator } from './events/event-validator.ts';
import { createPatientKeyer } from './events/patient-key.ts';
import { patientKeySecret } from './events/patient-key-secret.ts';
import { configuredChannels } from './handover/channels/configured-channels.ts';
import { createEdiClient } from './delivery/edi-client.ts';
import { startHandoverWorker } from './handover/handover-worker.ts';
import { storedHandoverMessage } from './handover/stored-message.ts';
import { storeFactsSource } from './handover/store-facts.ts';
import type { FactsSource } from './handover/facts-source.ts';
import { ehrFactsSource } from './handover/gather-facts.ts';
import { hospitalContactFromConfig } from './handover/hospital-contact.ts';
import { acknowledgeHandover } from './handover/acknowledgements.ts';
import { senderIdentityFromConfig } from './handover/edi/sender-identity.ts';
import { loadRecipientDirectory } from './handover/recipient-directory.ts';
import { createApp } from './intake/app.ts';
import { createJwtVerifier, type InboundAuth } from './intake/auth.ts';
import { createRateLimiter } from './intake/rate-limit.ts';
import { answerClientError } from './intake/strict-headers.ts';
import { loadContracts } from './intake/contracts.ts';
import { createInputValidator } from './contracts/input-validator.ts';
import { describeConfig, type Config } from './platform/config.ts';
import type { Logger } from './platform/logger.ts';
import { createMetrics } from './platform/metrics.ts';
import type { ReadinessCheck } from './platform/readiness.ts';
import { DEFAULT_CONNECT_RETRY_POLICY, ehrRetryPolicy } from './platform/retry.ts';
import type { RunningWorker } from './store/worker-loop.ts';
import { createConfiguredStore } from './store/create-store.ts';
import { startRetentionWorker } from './store/retention-worker.ts';
import { jobSignals, signallingStore } from './store/job-signals.ts';
import { FAILURE_REASONS } from './store/store.ts';

/**
 * This build's version, for the nhn-source-system header NHN asks of every call. Read from the
 * working directory, as contracts/ and profiles/ are: the sources and their build (dist/) sit at
 * different depths below it.
 */
const PACKAGE_VERSION = ((): string => {
  try {
    return (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
})();

export interface RunningService {
  readonly port: number;
  readonly url: string;
  /** Resolves once everything is closed; rejects if that took longer than SHUTDOWN_TIMEOUT_MS. */
  stop(): Promise<void>;
}

/** The EHR profile and coding choices the mappings take (docs/adr/0021-dips-arena-profile.md). */
function mappingOptionsOf(config: Config, logger: Logger): MappingOptions {
  const ehrProfile = config.EHR_PROFILE as EhrProfile;
  if (config.NCMP_DIPS_CODING) {
    logger.warn(
      ehrProfile === 'generic'
        ? 'NCMP_DIPS_CODING is deprecated: it still adds the DIPS coding of OBAB00 to the generic profile; for a DIPS Arena hospital set EHR_PROFILE=dips-arena instead'
        : 'NCMP_DIPS_CODING is deprecated and has no effect with EHR_PROFILE=dips-arena, which codes NCMP as DIPS does; remove it',
    );
  }
  logger.info({ ehrProfile }, `EHR profile ${ehrProfile}`);
  return { ehrProfile, ncmpDipsCoding: config.NCMP_DIPS_CODING };
}

function inboundAuth(config: Config, logger: Logger): InboundAuth {
  if (config.AUTH_MODE === 'off') {
    logger.warn(
      'AUTH_MODE=off: /v1 accepts requests without any authentication; anyone who reaches this port can submit and read. Development only.',
    );
    return { mode: 'off' };
  }
  // loadConfig refuses jwt mode without them; this keeps the types honest.
  if (config.AUTH_ISSUER === undefined || config.AUTH_AUDIENCE === undefined) {
    throw new Error('AUTH_ISSUER and AUTH_AUDIENCE are required when AUTH_MODE is jwt');
  }
  logger.info(
    { issuer: config.AUTH_ISSUER, audience: config.AUTH_AUDIENCE, jwksUrl: config.AUTH_JWKS_URL ?? 'by discovery' },
    'bearer tokens required on /v1',
  );
  return {
    mode: 'jwt',
    verify: createJwtVerifier({
      issuer: config.AUTH_ISSUER,
      audience: config.AUTH_AUDIENCE,
      jwksUrl: config.AUTH_JWKS_URL,
      clockSkewSeconds: config.AUTH_CLOCK_SKEW_SECONDS,
      logger,
    }),
  };
}

export async function startService(config: Config, logger: Logger): Promise<RunningService> {
  const roles = new Set(config.ROLES.split(','));
  const clock = (): Date => new Date();
  const owner = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const readiness: ReadinessCheck[] = [];
  const metrics = createMetrics();
  // Closed in reverse order of creation, after the HTTP server and the workers.
  const closers: (() => Promise<void>)[] = [];

  const mappingOptions = mappingOptionsOf(config, logger);

  // Checked before anything runs: a directory with a mistake would send a handover to nobody.
  const directory = loadRecipientDirectory(config.RECIPIENT_DIRECTORY_PATH);
  const hospitalContact = hospitalContactFromConfig(config);
  // Half a sender identity would put a message on Norsk Helsenett that no receipt can answer.
  const sender = senderIdentityFromConfig(config);

  const configured = await createConfiguredStore(config, logger);
  const { store, engine } = configured;
  closers.push(() => configured.close());
  await store.migrate();
  readiness.push({ name: engine, critical: true, check: () => store.ping() });
  metrics.readBacklogFrom(() => store.backlog(clock()));
  metrics.readSubmissionGaugesFrom(async () => {
    const summary = await store.summarizeSubmissions();
    const oldest = summary.oldestUndeliveredAcceptedAt;
    const counted = new Map(summary.failedByReason.map(({ reason, count }) => [reason, count]));
    return {
      failedByReason: FAILURE_REASONS.map((reason) => ({ reason, count: counted.get(reason) ?? 0 })),
      oldestUndeliveredAgeMs: oldest === undefined ? 0 : Math.max(0, clock().getTime() - oldest.getTime()),
    };
  });

  const secret = patientKeySecret(config.PATIENT_KEY_SECRET, config.DATA_DIR);
  if (secret.generated)
    logger.warn({ dataDir: config.DATA_DIR }, 'generated a patient-key secret for this installation');

  const configuredBus = await createConfiguredBus(config, store, logger, clock);
  const { bus } = configuredBus;
  if (configuredBus.readiness !== undefined) readiness.push(configuredBus.readiness);
  closers.push(() => configuredBus.close());

  const patientKey = createPatientKeyer(secret.secret);

  const workers: RunningWorker[] = [];
  // What this process writes wakes its own workers at once; other replicas' work is found by the
  // workers' polls (docs/adr/0050-delivery-wakes-on-local-accepts-and-finishes-in-one-statement.md).
  const signals = jobSignals();
  // The store as the workers and the API write to it: every job this process adds wakes the loop
  // of its queue here (docs/adr/0063-idle-polls-back-off-and-local-work-wakes-every-loop.md).
  const signalling = signallingStore(store, signals, clock);
  const eventValidator = createEventValidator(loadEventSchemas());
  // One HelseID client per process: every audience shares its DPoP key, discovery and nonces.
  const helseIdConfig = helseIdSettings(config);
  const helseId =
    helseIdConfig === undefined
      ? undefined
      : createHelseIdClient(helseIdConfig, { logger, timeoutMs: config.EHR_TIMEOUT_MS });
  // One adapter serves delivery and readiness, with the same authentication.
  const ehr =
    config.EHR_BASE_URL === undefined
      ? undefined
      : createFhirEhr({
          baseUrl: config.EHR_BASE_URL,
          auth: createEhrAuth(config, helseId, { logger, timeoutMs: config.EHR_TIMEOUT_MS }),
          timeoutMs: config.EHR_TIMEOUT_MS,
          breaker: createCircuitBreaker(breakerOptionsFromConfig(config)),
          logger,
          metrics,
        });
  if (ehr !== undefined) readiness.push(ehrReadiness(ehr));
  // Where the handover reads its facts: under dips-arena the EHR holds no prescription or fitness
  // test, nor a session's link to its prescription, so they come from the store
  // (docs/adr/0028-handover-facts-from-the-store-under-dips-arena.md).
  const factsFrom = (ehrClient: Ehr): FactsSource =>
    mappingOptions.ehrProfile === 'dips-arena' ? storeFactsSource({ store, patientKey }) : ehrFactsSource(ehrClient);
  const facts = ehr === undefined ? undefined : factsFrom(ehr);
  // NHN's message service, with the same HelseID client (its own audience, the same DPoP key).
  const messageService =
    config.EDI_BASE_URL === undefined || helseId === undefined
      ? undefined
      : createEdiClient({
          baseUrl: config.EDI_BASE_URL,
          sourceSystem: `${config.EDI_SOURCE_SYSTEM}, v${PACKAGE_VERSION}`,
          auth: helseId.authFor(config.EDI_HELSEID_AUDIENCE),
          timeoutMs: config.EDI_TIMEOUT_MS,
        });
  if (roles.has('ehr')) {
    if (ehr === undefined) {
      logger.warn('EHR_BASE_URL is not set: submissions are accepted and kept, but not delivered, until it is');
    } else {
      workers.push(
        startEhrDeliveryWorker({
          store: signalling,
          ehr,
          ehrBaseUrl: config.EHR_BASE_URL,
          mappers,
          mappingOptions,
          eventValidator,
          retryPolicy: ehrRetryPolicy(config),
          clock,
          logger,
          metrics,
          owner: `${owner}-ehr`,
          leaseMs: config.EHR_LEASE_MS,
          concurrency: config.EHR_DELIVERY_CONCURRENCY,
          adaptive: config.EHR_DELIVERY_ADAPTIVE,
          signals,
        }),
      );
    }
  }
  if (roles.has('ehr')) {
    workers.push(
      startRetentionWorker({
        store,
        policy: { deliveredDays: config.RETENTION_DAYS, failedDays: config.RETENTION_FAILED_DAYS },
        clock,
        logger,
        intervalMs: config.RETENTION_SWEEP_INTERVAL_MS,
      }),
    );
  }
  if (roles.has('relay')) {
    workers.push(
      startEventRelayWorker({
        store: signalling,
        bus,
        retryPolicy: DEFAULT_CONNECT_RETRY_POLICY,
        clock,
        logger,
        metrics,
        owner: `${owner}-relay`,
        leaseMs: config.RELAY_LEASE_MS,
        signals,
      }),
    );
  }

  const contracts = loadContracts();
  if (roles.has('handover')) {
    // Fed whether or not the worker can run (EHR_BASE_URL unset): discharges waiting in the topic
    // and handovers left unanswered are true either way, and worth seeing.
    metrics.readHandoverConsumerLagFrom(() => bus.consumerLag(config.HANDOVER_CONSUMER_GROUP, TOPICS.handover));
    metrics.readHandoversAwaitingAckFrom(() => store.handoversAwaitingAcknowledgement());
    if (ehr === undefined) {
      logger.warn('EHR_BASE_URL is not set: discharges are accepted and kept, but not handed over, until it is');
    } else {
      // One client per Frisklivssentral endpoint, each with its own breaker: one municipality's
      // outage must not stop the others. No authentication: none is agreed with any municipality
      // yet (UNCONFIRMED; docs/reference/terminology.md §8: no national referral format was found).
      const endpoints = new Map<string, ReturnType<typeof createFhirEhr>>();
      const endpoint = (baseUrl: string): ReturnType<typeof createFhirEhr> => {
        let client = endpoints.get(baseUrl);
        if (client === undefined) {
          client = createFhirEhr({
            baseUrl,
            auth: createFhirAuth({ kind: 'none' }, { logger, timeoutMs: config.EHR_TIMEOUT_MS }),
            timeoutMs: config.EHR_TIMEOUT_MS,
            breaker: createCircuitBreaker(breakerOptionsFromConfig(config)),
            logger: logger.child({ endpoint: 'frisklivssentral' }),
            // Timed with the EHR's requests; the circuit-state gauge is the hospital EHR's alone.
            metrics: { ...metrics, readCircuitStateFrom: () => undefined },
          });
          endpoints.set(baseUrl, client);
        }
        return client;
      };
      workers.push(
        await startHandoverWorker({
          store: signalling,
          bus,
          ehr,
          facts: factsFrom(ehr),
          channels: configuredChannels({ directory, endpoint, messageService, sender, clock, logger }),
          receiptPolling: { firstMs: config.EDI_RECEIPT_POLL_MS, maxMs: config.EDI_RECEIPT_POLL_MAX_MS },
          directory,
          hospitalContact,
          eventValidator,
          inputValidator: createInputValidator(contracts.schemas),
          retryPolicy: ehrRetryPolicy(config),
          metrics,
          consumerGroup: config.HANDOVER_CONSUMER_GROUP,
          statusTopic: config.HANDOVER_STATUS_TOPIC,
          ackTimeoutMs: config.HANDOVER_ACK_TIMEOUT_MS,
          clock,
          logger,
          owner,
          leaseMs: config.HANDOVER_LEASE_MS,
          signals,
        }),
      );
    }
  }

  const app = createApp({
    logger,
    auth: inboundAuth(config, logger),
    rateLimiter: createRateLimiter({ perSecond: config.RATE_LIMIT_PER_SECOND, burst: config.RATE_LIMIT_BURST }),
    requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
    readiness,
    readinessTimeoutMs: config.READINESS_TIMEOUT_MS,
    metrics,
    contracts,
    mappingOptions,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    audit: { store, clock },
    ...(roles.has('api')
      ? {
          submissions: { store: signalling, patientKey, clock },
          browser: { store: signalling, clock, replayMax: config.REPLAY_MAX },
          handover: {
            store: signalling,
            patientKey,
            clock,
            eventValidator,
            directory,
            acknowledge: (ack, now) => acknowledgeHandover(store, ack, now),
            hospitalContactConfigured: hospitalContact !== undefined,
            handoverMessage: (id) =>
              storedHandoverMessage({ store, facts, directory, hospitalContact, sender, clock }, id),
          },
        }
      : {}),
  });
  // Slow senders (a trickled body, headers that never end) cannot hold a connection longer than
  // a request may take (408, closed); the deadline in the app bounds the time to answer. Node
  // looks for such connections every connectionsCheckingInterval, 30 s unless told.
  const server = createServer(
    {
      requestTimeout: config.REQUEST_TIMEOUT_MS,
      headersTimeout: Math.min(10_000, config.REQUEST_TIMEOUT_MS),
      connectionsCheckingInterval: 1000,
    },
    app,
  );
  server.on('clientError', answerClientError);
  server.listen(config.PORT, config.HOST);
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
      await Promise.allSettled(workers.map((worker) => worker.stop()));
      for (const close of closers.reverse()) {
        await close().catch((error: unknown) => {
          logger.warn({ err: error }, 'closing a client failed');
        });
      }
    })();
    await Promise.race([orderly, timeout]);
    logger.info('stopped');
  }

  return { port, url: `http://127.0.0.1:${port}`, stop };
}
