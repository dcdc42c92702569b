/**
 * The event-relay worker: outbox rows → the event bus. A row is marked sent only after the bus
 * acknowledged it (Kafka: acks=all, idempotent producer); a failed publish leaves the rows to be
 * retried with backoff. A crash between acknowledgement and marking can publish a row twice:
 * consumers tell duplicates by the CloudEvent id, which is the same on every publish.
 */
import type { Logger } from '../platform/logger.ts';
import { secondsSince, type Metrics } from '../platform/metrics.ts';
import { endSpan, SpanKind, startSpan } from '../platform/tracing.ts';
import { nextRunAt, type RetryPolicy } from '../platform/retry.ts';
import { startWorkerLoop, type RunningWorker, type WorkerTuning } from '../store/worker-loop.ts';
import type { Job, Store } from '../store/store.ts';
import type { EventBus, OutgoingEvent } from './event-bus.ts';

export interface EventRelayDeps extends WorkerTuning {
  readonly store: Store;
  readonly bus: EventBus;
  readonly retryPolicy: RetryPolicy;
  readonly clock: () => Date;
  readonly logger: Logger;
  readonly metrics: Pick<Metrics, 'eventPublish'>;
}

export function startEventRelayWorker(deps: EventRelayDeps): RunningWorker {
  const log = deps.logger.child({ worker: 'event-relay' });
  return startWorkerLoop({
    name: 'event-relay',
    store: deps.store,
    queue: 'event-publish',
    owner: deps.owner,
    clock: deps.clock,
    logger: deps.logger,
    leaseMs: deps.leaseMs ?? 60_000,
    // Batches keep up with bursts: one produce request carries many events.
    batchSize: deps.batchSize ?? 100,
    idleMs: deps.idleMs ?? 200,
    reapEveryMs: 10_000,
    handle: async (jobs) => {
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
      let placed;
      const started = performance.now();
      try {
        placed = await deps.bus.publish(events);
        deps.metrics.eventPublish('success', secondsSince(started));
        for (const span of spans) endSpan(span);
      } catch (error) {
        deps.metrics.eventPublish('failure', secondsSince(started));
        for (const span of spans) endSpan(span, error);
        const now = deps.clock();
        log.warn(
          { err: error, events: jobs.length, submissionIds: submissionIdsOf(jobs) },
          'publishing failed; will retry',
        );
        for (const job of jobs)
          await deps.store.retryLater(job, nextRunAt(now, job.attempts, deps.retryPolicy), {}, now);
        return;
      }
      const now = deps.clock();
      // The whole batch is marked sent in one transaction: one commit per produce request rather
      // than one per event, which had held the relay to a fifth of what the producer can send
      // (bench/README.md).
      await deps.store.completeAll(
        jobs.map((job, index) => {
          const where = placed[index];
          const type = typeof events[index]?.value.type === 'string' ? events[index].value.type : 'event';
          return {
            job,
            effects: {
              timeline: [
                {
                  at: now,
                  kind: 'event-published',
                  message: `Event ${type} published to ${where?.topic ?? '?'} (partition ${where?.partition ?? '?'}, offset ${where?.offset ?? '?'}).`,
                  detail: { type, topic: where?.topic, partition: where?.partition, offset: where?.offset },
                },
              ],
            },
          };
        }),
        now,
      );
      log.debug({ events: jobs.length, submissionIds: submissionIdsOf(jobs) }, 'published');
    },
  });
}

/** A batch's lines name every submission in it (the batch is one publish; there is no one submission id). */
function submissionIdsOf(jobs: readonly Job[]): string[] {
  return [...new Set(jobs.map((job) => job.submissionId))];
}
