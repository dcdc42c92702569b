/**
 * The event-relay worker: outbox rows → the event bus. One relay publishes at a time: it holds
 * the event queue's lease and reads the due rows without writing a lease into each, which had
 * cost the store as much as marking them (docs/adr/0059-the-relay-leases-the-queue-not-each-row.md);
 * a relay in another replica waits as a standby. A row is marked sent only after the bus
 * acknowledged it (Kafka: acks=all, idempotent producer), with where it landed noted on the row
 * itself, which the submission's timeline shows
 * (docs/adr/0060-the-relay-notes-a-publish-on-the-job-not-the-timeline.md). A failed publish
 * leaves the rows to be retried with backoff. A crash between acknowledgement and marking can
 * publish a row twice: consumers tell duplicates by the CloudEvent id, which is the same on every
 * publish.
 *
 * The steps of consecutive batches overlap (docs/adr/0031-relay-pipeline.md): batch N+1 is
 * claimed while N is published, and N is marked sent while N+1 is published. Publishes stay one
 * at a time, in claim order, each started only after the one before was acknowledged, so events
 * with the same key reach the bus in outbox order exactly as without the overlap.
 *
 * Claims are sized by bytes: after a batch, the next claim takes as many events as fill one
 * produce request at that batch's mean size, between DEFAULT_RELAY_BATCH and MAX_RELAY_BATCH
 * (docs/adr/0049-relay-claims-sized-by-bytes.md). A claimed batch goes out as produce requests of
 * at most `maxRequestBytes` each, in order: a batch of large records (handover packets) must not
 * become one request the broker refuses as too large, which would fail the same way on every
 * retry. When one request fails, the records acknowledged before it are marked sent and the rest
 * retried.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Logger } from '../platform/logger.ts';
import { secondsSince, type Metrics } from '../platform/metrics.ts';
import { endSpan, SpanKind, startSpan } from '../platform/tracing.ts';
import { nextRunAt, type RetryPolicy } from '../platform/retry.ts';
import { queueLeaseSource } from '../store/queue-lease-source.ts';
import { startWorkerLoop, type RunningWorker, type WorkerTuning } from '../store/worker-loop.ts';
import type { JobSignals } from '../store/job-signals.ts';
import type { Job, Store } from '../store/store.ts';
import { valueTextOf, type EventBus, type OutgoingEvent, type PublishedEvent } from './event-bus.ts';

export interface EventRelayDeps extends WorkerTuning {
  readonly store: Store;
  readonly bus: EventBus;
  readonly retryPolicy: RetryPolicy;
  readonly clock: () => Date;
  readonly logger: Logger;
  readonly metrics: Pick<Metrics, 'eventPublish'>;
  /** Events per claim, always; unset, claims are sized by the events' bytes (claimSizeAfter). */
  readonly batchSize?: number;
  /** Largest produce request, by the records' estimated size (default DEFAULT_MAX_REQUEST_BYTES). */
  readonly maxRequestBytes?: number;
  /** Events this process wrote, relayed within 200 ms (gathered) rather than at the next poll (src/store/job-signals.ts). */
  readonly signals?: JobSignals;
}

/** The relay's first claim, and its least: events per batch. */
export const DEFAULT_RELAY_BATCH = 100;

/**
 * The most one claim takes, however small its events: on SQLite the read and the marking are
 * synchronous transactions on the loop that also serves intake, about 1 ms per hundred events each.
 */
export const MAX_RELAY_BATCH = 500;

/**
 * Kafka's defaults: a producer's max.request.size is 1 MiB and a broker's message.max.bytes
 * (largest record batch) about as much; kept below both, with the records' framing estimated.
 */
export const DEFAULT_MAX_REQUEST_BYTES = 1_000_000;

/** A record's framing in a Kafka record batch (length, attributes, deltas, header counts), generously. */
const RECORD_OVERHEAD_BYTES = 64;

/** An event's size on the wire, near enough: key, JSON value and headers, plus framing. */
export function estimatedRecordBytes(event: OutgoingEvent): number {
  let bytes = RECORD_OVERHEAD_BYTES + Buffer.byteLength(event.key) + Buffer.byteLength(valueTextOf(event));
  for (const [name, value] of Object.entries(event.headers ?? {}))
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value);
  return bytes;
}

/**
 * Splits events, in order, into consecutive runs of at most `maxBytes` each; an event larger
 * than that on its own goes alone (the broker then says whether it takes it).
 */
export function produceRequests<T>(events: readonly T[], maxBytes: number, size: (event: T) => number): T[][] {
  const requests: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const event of events) {
    const eventBytes = size(event);
    if (current.length > 0 && bytes + eventBytes > maxBytes) {
      requests.push(current);
      current = [];
      bytes = 0;
    }
    current.push(event);
    bytes += eventBytes;
  }
  if (current.length > 0) requests.push(current);
  return requests;
}

/**
 * The next claim after a batch of `events` events of `bytes` estimated bytes in all: as many as
 * fill one produce request of `maxBytes` at their mean size, between DEFAULT_RELAY_BATCH and
 * MAX_RELAY_BATCH. Small events then share a claim, a marking and a request by the hundreds;
 * large ones (handover packets) are claimed a hundred at a time, as always.
 */
export function claimSizeAfter(events: number, bytes: number, maxBytes: number): number {
  if (events === 0 || bytes <= 0) return DEFAULT_RELAY_BATCH;
  const filling = Math.floor(maxBytes / (bytes / events));
  return Math.min(MAX_RELAY_BATCH, Math.max(DEFAULT_RELAY_BATCH, filling));
}

export function startEventRelayWorker(deps: EventRelayDeps): RunningWorker {
  const log = deps.logger.child({ worker: 'event-relay' });
  const maxBytes = deps.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  /** The next claim's size: set by each batch's bytes, read when the next batch is claimed (ahead). */
  let claimSize = deps.batchSize ?? DEFAULT_RELAY_BATCH;
  /** The marking of the batch published last; it runs while the next batch is published. */
  let marking: Promise<void> = Promise.resolve();

  const markSent = async (
    jobs: readonly Job[],
    events: readonly OutgoingEvent[],
    placed: readonly PublishedEvent[],
  ) => {
    // First let the next batch's publish go out: SQLite marks synchronously, on this thread, and
    // would otherwise finish before that request is even sent.
    await yieldToLoop();
    const now = deps.clock();
    // The whole batch is marked sent in one transaction: one commit per produce request rather
    // than one per event, which had held the relay to a fifth of what the producer can send
    // (bench/README.md). The commit does not wait for the disk: a mark a power loss undoes means
    // the batch is published again, which consumers tell by the CloudEvent id
    // (docs/adr/0036-relay-commits-without-flush.md).
    await deps.store.completeAll(
      jobs.map((job, index) => {
        const where = placed[index];
        const type = typeof events[index]?.value.type === 'string' ? events[index].value.type : 'event';
        return {
          job,
          effects: {},
          // On the job's row, not a timeline row of its own: half of what marking cost the
          // PostgreSQL server (docs/adr/0060-the-relay-notes-a-publish-on-the-job-not-the-timeline.md).
          note: {
            kind: 'event-published',
            message: `Event ${type} published to ${where?.topic ?? '?'} (partition ${where?.partition ?? '?'}, offset ${where?.offset ?? '?'}).`,
            detail: { type, topic: where?.topic, partition: where?.partition, offset: where?.offset },
          },
        };
      }),
      now,
      { waitForDisk: false },
    );
    log.debug({ events: jobs.length, submissionIds: submissionIdsOf(jobs) }, 'published');
  };

  const leaseMs = deps.leaseMs ?? 60_000;
  const source = queueLeaseSource({ store: deps.store, queue: 'event-publish', owner: deps.owner, leaseMs });

  /** Publishes one batch, in order, and has it marked sent (overlapping the next batch) or retried. */
  const relayBatch = async (jobs: readonly Job[]): Promise<void> => {
    const stored = jobs.map((job) => job.payload as OutgoingEvent);
    // One producer span per event, child of the trace its outbox row carries; its context goes
    // out as the record's traceparent/tracestate headers.
    const spans = stored.map((event) =>
      startSpan(`publish ${event.topic}`, {
        kind: SpanKind.PRODUCER,
        parent: event.headers ?? {},
        attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': event.topic },
      }),
    );
    const events = stored.map((event, index) => {
      const carrier = spans[index]?.carrier;
      return carrier === undefined ? event : { ...event, headers: { ...event.headers, ...carrier } };
    });
    let bytes = 0;
    const requests = produceRequests(events, maxBytes, (event) => {
      const eventBytes = estimatedRecordBytes(event);
      bytes += eventBytes;
      return eventBytes;
    });
    // Before the first await: the claim ahead, which runs once this handler waits, reads it.
    if (deps.batchSize === undefined) claimSize = claimSizeAfter(events.length, bytes, maxBytes);
    const placed: PublishedEvent[] = [];
    let failure: { error: unknown } | undefined;
    for (const request of requests) {
      const first = placed.length;
      const started = performance.now();
      try {
        placed.push(...(await deps.bus.publish(request)));
        deps.metrics.eventPublish('success', secondsSince(started));
        for (const span of spans.slice(first, placed.length)) endSpan(span);
      } catch (error) {
        deps.metrics.eventPublish('failure', secondsSince(started));
        for (const span of spans.slice(first)) endSpan(span, error);
        failure = { error };
        break;
      }
    }
    const sent = placed.length;
    if (sent > 0) {
      // At most one batch is being marked at a time: the one before, marked while this was published.
      await marking;
      const published = jobs.slice(0, sent);
      marking = markSent(published, events.slice(0, sent), placed)
        .catch((error: unknown) => {
          // Published but not marked: the rows are read again and published again, which
          // consumers tell by the CloudEvent id (as after a crash at this point).
          log.error(
            { err: error, events: published.length, submissionIds: submissionIdsOf(published) },
            'marking published events as sent failed; they will be published again',
          );
        })
        .finally(() => {
          source.settled(published);
        });
    }
    if (failure !== undefined) {
      const unsent = jobs.slice(sent);
      const now = deps.clock();
      log.warn(
        { err: failure.error, events: unsent.length, submissionIds: submissionIdsOf(unsent) },
        'publishing failed; will retry',
      );
      // One time for all of them: each its own jittered time would shuffle their order (run_at, then id).
      const runAt = nextRunAt(now, Math.max(...unsent.map((job) => job.attempts)), deps.retryPolicy);
      try {
        for (const job of unsent) await deps.store.retryLater(job, runAt, {}, now);
      } finally {
        source.settled(unsent);
      }
    }
  };

  const idleMs = deps.idleMs ?? 200;
  const worker = startWorkerLoop({
    name: 'event-relay',
    store: deps.store,
    queue: 'event-publish',
    owner: deps.owner,
    clock: deps.clock,
    logger: deps.logger,
    leaseMs,
    source,
    // Batches keep up with bursts: one produce request carries many events.
    batchSize: claimSize,
    claimSize: () => claimSize,
    // An idle queue is asked every 200 ms at first, then less often, down to once a second. An
    // event this process writes (the usual case: its own deliveries) ends the wait within 200 ms,
    // not at once: what comes meanwhile goes in the same claim and produce request, as the 200 ms
    // poll gathered it (docs/adr/0063-idle-polls-back-off-and-local-work-wakes-every-loop.md).
    idleMs,
    maxIdleMs: deps.maxIdleMs ?? 5 * idleMs,
    ...(deps.signals === undefined ? {} : { signals: deps.signals, gatherMs: idleMs }),
    reapEveryMs: 10_000,
    claimAhead: true,
    handle: async (jobs) => {
      try {
        await relayBatch(jobs);
      } catch (error) {
        // Whatever went wrong, the batch must not stay in hand: it would never be read again.
        source.settled(jobs);
        throw error;
      }
    },
  });
  return {
    async stop() {
      await worker.stop();
      await marking;
      // Another replica's relay takes the queue at once rather than when the lease would expire.
      await source.release().catch((error: unknown) => {
        log.warn({ err: error }, 'could not give up the queue lease; another relay takes it when it expires');
      });
    },
  };
}

/** A batch's lines name every submission in it (the batch is one publish; there is no one submission id). */
function submissionIdsOf(jobs: readonly Job[]): string[] {
  return [...new Set(jobs.map((job) => job.submissionId))];
}
