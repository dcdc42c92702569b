/**
 * The one metrics registry of a running service, served at GET /metrics (Prometheus text format).
 * Every series hit-bridge exposes is declared here, by name, so dashboards and alerts have one
 * list to follow (METRIC_NAMES) and nobody adds a label that could carry personal data.
 *
 * Labels: only `kind`, `outcome`, `queue` and `role`, each drawn from a closed set of values
 * written in this file (anything else is counted as `other`), so the number of series is fixed
 * whatever arrives over HTTP: the endpoint can neither leak an identifier nor be grown without
 * bound. Values that live in the store (outbox backlog) or elsewhere (consumer lag, handovers
 * awaiting acknowledgement) are read when Prometheus scrapes, at most once per
 * `minCollectIntervalMs`, however often /metrics is asked.
 *
 * One registry per service instance, not prom-client's global one: tests run several services
 * in one process, and each must count only its own work.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { isSubmissionKind, SUBMISSION_KINDS } from '../kinds/kinds.ts';

/** Every hit-bridge series (Node's default process_* and nodejs_* series come on top). */
export const METRIC_NAMES = {
  /** Counter{kind}: submissions stored with their first job (202; a resend answered 200 is not counted). */
  submissionsAccepted: 'hitbridge_submissions_accepted_total',
  /** Counter{kind}: submissions the EHR now holds (a discharge: its handover made). */
  submissionsDelivered: 'hitbridge_submissions_delivered_total',
  /** Counter{kind}: submissions failed for good (the EHR refused, or the retry horizon passed); `replay` re-queues them. */
  submissionsFailed: 'hitbridge_submissions_failed_total',
  /** Gauge{queue}: outbox jobs not yet done (due, leased or waiting for a retry). */
  outboxBacklog: 'hitbridge_outbox_backlog_jobs',
  /** Gauge{queue}: age of the oldest job not yet done, in seconds (0 when the queue is empty). */
  outboxOldestAge: 'hitbridge_outbox_oldest_job_age_seconds',
  /** Histogram{outcome}: one request to the EHR (transaction Bundle), by how it ended (EHR_OUTCOMES). */
  ehrRequestDuration: 'hitbridge_ehr_request_duration_seconds',
  /** Counter: deliveries not sent because the EHR circuit was open. */
  ehrCircuitRejections: 'hitbridge_ehr_circuit_rejections_total',
  /** Gauge: the EHR circuit breaker: 0 closed, 1 half-open, 2 open (BREAKER_STATE_VALUE). */
  ehrCircuitState: 'hitbridge_ehr_circuit_state',
  /** Histogram{outcome}: one publish of a batch of events to Kafka (or the embedded log), success or failure. */
  eventPublishDuration: 'hitbridge_event_publish_duration_seconds',
  /**
   * Gauge: records on the handover topic (discharge events) the handover worker's consumer group
   * has not committed yet, summed over partitions (EventBus.consumerLag). The group's, not this
   * replica's: every replica running the handover role shows the same number (aggregate with max).
   */
  handoverConsumerLag: 'hitbridge_handover_consumer_lag_records',
  /**
   * Gauge: handovers sent to the Frisklivssentral (packets out, referral Task created) that it has
   * not answered yet, overdue ones included (Store.handoversAwaitingAcknowledgement). Read from
   * the store: every replica running the handover role shows the same number (aggregate with max).
   */
  handoversAwaitingAck: 'hitbridge_handovers_awaiting_acknowledgement',
  /**
   * Gauge{reason}: submissions failed for good now, by why (the store's FAILURE_REASONS), read from the store:
   * what is waiting for a cause to be fixed and a replay. Every replica shows the same numbers
   * (aggregate with max).
   */
  submissionsFailedNow: 'hitbridge_submissions_failed',
  /** Gauge: age of the oldest submission still on its way to the EHR (status accepted), in seconds; 0 when none is. */
  oldestUndeliveredAge: 'hitbridge_submission_oldest_undelivered_age_seconds',
  /** Counter: handovers the Frisklivssentral left unanswered past HANDOVER_ACK_TIMEOUT_MS (each counted once). */
  handoversOverdue: 'hitbridge_handovers_overdue_total',
} as const;

/** What the submission gauges read at scrape time. */
interface SubmissionGauges {
  /** Every reason the store knows, 0 included, so a panel sees a reason's failures end. */
  readonly failedByReason: readonly { readonly reason: string; readonly count: number }[];
  /** 0 when nothing is on its way. */
  readonly oldestUndeliveredAgeMs: number;
}

/** How one EHR request ended: the classes of src/delivery/fhir-ehr.ts, and the ways no answer came. */
export type EhrOutcome =
  | 'success'
  /** The EHR answered "not now" (408/425/429/5xx, 401/403, 409) or with something unreadable: retried. */
  | 'retriable'
  /** The EHR refused this Bundle (other 4xx): the submission fails. */
  | 'permanent'
  /** No answer within EHR_TIMEOUT_MS. */
  | 'timeout'
  /** Connection refused, reset, DNS…: no answer at all. */
  | 'unreachable'
  /** Stopped by us (shutdown) before the EHR answered. */
  | 'aborted'
  /** A fault on our side while sending. */
  | 'error';

type PublishOutcome = 'success' | 'failure';

const BREAKER_STATE_VALUE = { closed: 0, 'half-open': 1, open: 2 } as const;

/** Buckets in seconds. The EHR: a Bundle takes 50 ms to seconds, and EHR_TIMEOUT_MS defaults to 30 s. */
const EHR_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Kafka with acks=all on a healthy cluster: milliseconds; a lost leader: seconds. */
const PUBLISH_BUCKETS = [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A value read at scrape time (from the store, a Kafka admin call, …). */
type Source<T> = () => Promise<T>;
export type BacklogSource = Source<Readonly<Record<string, { count: number; oldestAgeMs: number }>>>;

export interface MetricsOptions {
  /** Node's process_* and nodejs_* series (default true; tests that build many registries switch them off). */
  readonly defaultMetrics?: boolean;
  /** A scrape within this long of the previous one reuses what that one read (default 1000 ms). */
  readonly minCollectIntervalMs?: number;
  /** Clock for the collect cache; tests inject one. */
  readonly now?: () => number;
  /**
   * A gauge whose source has not answered within this long shows NaN for this scrape (default
   * 5000 ms): Prometheus gives a whole scrape 10 s by default, and one slow source (a broker that
   * accepts connections but does not answer) must not lose every other series with it.
   */
  readonly readTimeoutMs?: number;
}

export interface Metrics {
  readonly registry: Registry;
  /** The text Prometheus reads, and its content type. */
  scrape(): Promise<{ contentType: string; body: string }>;

  submissionAccepted(kind: string): void;
  submissionDelivered(kind: string): void;
  submissionFailed(kind: string): void;
  ehrRequest(outcome: EhrOutcome, seconds: number): void;
  ehrCircuitRejected(): void;
  /** A handover went unanswered past HANDOVER_ACK_TIMEOUT_MS (once per handover). */
  handoverOverdue(): void;
  eventPublish(outcome: PublishOutcome, seconds: number): void;

  /** Where the outbox backlog is read from at scrape time (the service passes the store's backlog()). */
  readBacklogFrom(source: BacklogSource): void;
  /** Where the breaker's state is read from at scrape time. */
  readCircuitStateFrom(source: () => keyof typeof BREAKER_STATE_VALUE): void;
  /** The handover worker's consumer lag, summed over its partitions (the handover role wires it). */
  readHandoverConsumerLagFrom(source: Source<number>): void;
  /** Handover packets awaiting acknowledgement (the handover role wires it). */
  readHandoversAwaitingAckFrom(source: Source<number>): void;
  /** Failed submissions by reason and the oldest undelivered one's age (the service passes the store's summary). */
  readSubmissionGaugesFrom(source: Source<SubmissionGauges>): void;
}

const boundedKind = (kind: string): string => (isSubmissionKind(kind) ? kind : 'other');

/**
 * A scrape-time reader that asks its source at most once per interval, and never twice at once:
 * ten scrapers hitting /metrics together cause one store query.
 */
function cached<T>(source: Source<T>, intervalMs: number, now: () => number): Source<T> {
  let last: { at: number; value: Promise<T> } | undefined;
  return () => {
    const at = now();
    if (last === undefined || at - last.at >= intervalMs) {
      const value = source();
      last = { at, value };
      // A failed read is not kept: the next scrape asks again.
      value.catch(() => {
        if (last?.value === value) last = undefined;
      });
    }
    return last.value;
  };
}

/** The value, or a rejection once `ms` have passed without it (the read itself goes on, unawaited). */
function within<T>(ms: number, value: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`no answer within ${String(ms)} ms`));
    }, ms);
  });
  return Promise.race([value, late]).finally(() => {
    clearTimeout(timer);
  });
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const interval = options.minCollectIntervalMs ?? 1000;
  const now = options.now ?? Date.now;
  const readTimeoutMs = options.readTimeoutMs ?? 5000;
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });

  const counter = (name: string, help: string, labelNames: string[] = []) =>
    new Counter({ name, help, labelNames, registers: [registry] });

  const accepted = counter(METRIC_NAMES.submissionsAccepted, 'Submissions stored with their first job.', ['kind']);
  const delivered = counter(METRIC_NAMES.submissionsDelivered, 'Submissions the EHR now holds.', ['kind']);
  const failed = counter(METRIC_NAMES.submissionsFailed, 'Submissions failed for good (replay re-queues them).', [
    'kind',
  ]);
  // Every kind starts at 0, so a rate() over a fresh process sees its first submission.
  for (const kind of SUBMISSION_KINDS) {
    accepted.inc({ kind }, 0);
    delivered.inc({ kind }, 0);
    failed.inc({ kind }, 0);
  }

  const ehrDuration = new Histogram({
    name: METRIC_NAMES.ehrRequestDuration,
    help: 'Requests to the EHR by how they ended, in seconds.',
    labelNames: ['outcome'],
    buckets: EHR_BUCKETS,
    registers: [registry],
  });
  const circuitRejections = counter(
    METRIC_NAMES.ehrCircuitRejections,
    'Deliveries not sent because the EHR circuit was open.',
  );
  const overdue = counter(
    METRIC_NAMES.handoversOverdue,
    'Handovers the Frisklivssentral left unanswered past HANDOVER_ACK_TIMEOUT_MS.',
  );
  const publishDuration = new Histogram({
    name: METRIC_NAMES.eventPublishDuration,
    help: 'Publishes of a batch of events to the event bus, in seconds.',
    labelNames: ['outcome'],
    buckets: PUBLISH_BUCKETS,
    registers: [registry],
  });

  let backlogSource: BacklogSource | undefined;

  // Both backlog gauges come from one query; whichever collects first asks, the other reuses it.
  const backlogGauge = new Gauge({
    name: METRIC_NAMES.outboxBacklog,
    help: 'Outbox jobs not yet done, per queue.',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      await collectBacklog();
    },
  });
  const oldestGauge = new Gauge({
    name: METRIC_NAMES.outboxOldestAge,
    help: 'Age of the oldest outbox job not yet done, per queue, in seconds.',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      await collectBacklog();
    },
  });
  async function collectBacklog(): Promise<void> {
    if (backlogSource === undefined) return;
    try {
      const backlog = await backlogSource();
      for (const [queue, { count, oldestAgeMs }] of Object.entries(backlog)) {
        backlogGauge.set({ queue }, count);
        oldestGauge.set({ queue }, oldestAgeMs / 1000);
      }
    } catch {
      // The store is unreachable (/readyz says so): no value rather than a stale one.
      backlogGauge.reset();
      oldestGauge.reset();
    }
  }

  /*
   * The gauges below exist only once something in this process feeds them (an EHR adapter, the
   * handover role): an unlabelled gauge always shows a value, and a 0 from a process that has no
   * EHR or no handover worker would read as "closed" or "no lag".
   */
  const registered = new Set<string>();
  const scrapeGauge = (name: string, help: string, source: Source<number>, { cheap = false } = {}): void => {
    if (registered.has(name)) throw new Error(`${name} is already fed by another source`);
    registered.add(name);
    const read = cheap ? source : cached(source, interval, now);
    const gauge: Gauge = new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        try {
          gauge.set(cheap ? await read() : await within(readTimeoutMs, read()));
        } catch {
          // Unknown now: NaN, which Prometheus shows as a gap, not as a convincing 0.
          gauge.set(Number.NaN);
        }
      },
    });
  };

  // Both submission gauges come from one summary; whichever collects first asks, the other reuses it.
  let submissionSource: Source<SubmissionGauges> | undefined;
  const failedNowGauge = new Gauge({
    name: METRIC_NAMES.submissionsFailedNow,
    help: 'Submissions failed for good now, by reason (waiting for their cause to be fixed and a replay).',
    labelNames: ['reason'],
    registers: [registry],
    async collect() {
      await collectSubmissions();
    },
  });
  const oldestUndeliveredGauge = new Gauge({
    name: METRIC_NAMES.oldestUndeliveredAge,
    help: 'Age of the oldest submission still on its way to the EHR (status accepted), in seconds; 0 when none is.',
    registers: [registry],
    async collect() {
      await collectSubmissions();
    },
  });
  async function collectSubmissions(): Promise<void> {
    if (submissionSource === undefined) return;
    try {
      const gauges = await within(readTimeoutMs, submissionSource());
      for (const { reason, count } of gauges.failedByReason) failedNowGauge.set({ reason }, count);
      oldestUndeliveredGauge.set(gauges.oldestUndeliveredAgeMs / 1000);
    } catch {
      failedNowGauge.reset();
      oldestUndeliveredGauge.set(Number.NaN);
    }
  }

  return {
    registry,
    async scrape() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
    submissionAccepted: (kind) => {
      accepted.inc({ kind: boundedKind(kind) });
    },
    submissionDelivered: (kind) => {
      delivered.inc({ kind: boundedKind(kind) });
    },
    submissionFailed: (kind) => {
      failed.inc({ kind: boundedKind(kind) });
    },
    ehrRequest: (outcome, seconds) => {
      ehrDuration.observe({ outcome }, seconds);
    },
    ehrCircuitRejected: () => {
      circuitRejections.inc();
    },
    handoverOverdue: () => {
      overdue.inc();
    },
    eventPublish: (outcome, seconds) => {
      publishDuration.observe({ outcome }, seconds);
    },
    readBacklogFrom(source) {
      backlogSource = cached(source, interval, now);
    },
    readCircuitStateFrom(source) {
      scrapeGauge(
        METRIC_NAMES.ehrCircuitState,
        'EHR circuit breaker: 0 closed, 1 half-open, 2 open.',
        () => Promise.resolve(BREAKER_STATE_VALUE[source()]),
        { cheap: true },
      );
    },
    readHandoverConsumerLagFrom(source) {
      scrapeGauge(
        METRIC_NAMES.handoverConsumerLag,
        "Records on the handover topic the handover worker's consumer group has not yet committed, summed over partitions.",
        source,
      );
    },
    readSubmissionGaugesFrom(source) {
      submissionSource = cached(source, interval, now);
    },
    readHandoversAwaitingAckFrom(source) {
      scrapeGauge(
        METRIC_NAMES.handoversAwaitingAck,
        'Handovers sent to the Frisklivssentral (with a referral Task) and not yet answered, overdue ones included.',
        source,
      );
    },
  };
}

/** Seconds since `startedMs` (performance.now()), for the histograms. */
export function secondsSince(startedMs: number): number {
  return (performance.now() - startedMs) / 1000;
}
