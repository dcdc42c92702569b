/**
 * Work this process has just written, told to this process's own worker loops, so a loop idling
 * between polls claims it at once instead of when its idle interval runs out
 * (docs/adr/0050-delivery-wakes-on-local-accepts-and-finishes-in-one-statement.md,
 * docs/adr/0063-idle-polls-back-off-and-local-work-wakes-every-loop.md). Only a hint: the loops
 * still poll the store, which is how they find work other replicas wrote, retries that came due
 * and anything a lost signal would have told them; a signal only ends an idle wait early.
 */
import type { AcceptOutcome, JobEffects, NewJob, QueueName, Store } from './store.ts';

export interface JobSignals {
  /** A job of `queue` is due now (written and committed by this process). */
  notify(queue: QueueName): void;
  /** `wake` is called on every notify for `queue` until the returned function is called. */
  subscribe(queue: QueueName, wake: () => void): () => void;
}

export function jobSignals(): JobSignals {
  const listeners = new Map<QueueName, Set<() => void>>();
  return {
    notify(queue) {
      for (const wake of listeners.get(queue) ?? []) wake();
    },
    subscribe(queue, wake) {
      let forQueue = listeners.get(queue);
      if (forQueue === undefined) {
        forQueue = new Set();
        listeners.set(queue, forQueue);
      }
      forQueue.add(wake);
      return () => forQueue.delete(wake);
    },
  };
}

/** Every queue a replay may put a job on: a replayed submission goes back where its kind starts. */
const EVERY_QUEUE: readonly QueueName[] = [
  'ehr-delivery',
  'event-publish',
  'handover',
  'handover-receipt',
  'handover-task',
];

/**
 * The store, with every write that adds a job telling `signals` of it once committed (each call
 * resolves after its commit): an accept's first job, the follow-on jobs of a completed, retried,
 * failed or handed-over job (the event to publish once the EHR has the record, the handover's next
 * step), and a replay. A write that changed nothing (a repeated request, a job whose lease was
 * lost) adds no job, and a job due later than now is left to the poll.
 */
export function signallingStore(store: Store, signals: JobSignals, clock: () => Date): Store {
  const tell = (jobs: readonly Pick<NewJob, 'queue' | 'runAt'>[] | undefined): void => {
    if (jobs === undefined || jobs.length === 0) return;
    const now = clock().getTime();
    for (const queue of new Set(jobs.filter((job) => job.runAt.getTime() <= now).map((job) => job.queue)))
      signals.notify(queue);
  };
  const tellAll = (): void => {
    for (const queue of EVERY_QUEUE) signals.notify(queue);
  };
  /** A fenced or once-only write whose follow-on jobs are told of when it changed anything. */
  const tellingAfter =
    <A extends unknown[]>(write: (...args: A) => Promise<boolean>, followOn: (...args: A) => JobEffects['enqueue']) =>
    async (...args: A): Promise<boolean> => {
      const done = await write(...args);
      if (done) tell(followOn(...args));
      return done;
    };
  return {
    ...store,
    async accept(submission, firstJob): Promise<AcceptOutcome> {
      const outcome = await store.accept(submission, firstJob);
      if (outcome.outcome === 'created') tell([firstJob]);
      return outcome;
    },
    complete: tellingAfter(store.complete.bind(store), (_job, effects) => effects.enqueue),
    async completeAll(items, now, options) {
      const done = await store.completeAll(items, now, options);
      // The relay's batches of hundreds add no jobs: nothing to gather for them.
      items.forEach((item, index) => {
        if (done[index] === true) tell(item.effects.enqueue);
      });
      return done;
    },
    retryLater: tellingAfter(store.retryLater.bind(store), (_job, _runAt, effects) => effects.enqueue),
    fail: tellingAfter(store.fail.bind(store), (_job, effects) => effects.enqueue),
    beginHandover: tellingAfter(store.beginHandover.bind(store), (_submissionId, effects) => effects.enqueue),
    markHandoverOverdue: tellingAfter(
      store.markHandoverOverdue.bind(store),
      (_submissionId, effects) => effects.enqueue,
    ),
    async replay(submissionId, now) {
      const done = await store.replay(submissionId, now);
      if (done) tellAll();
      return done;
    },
    async replayMatching(filter, options) {
      const outcome = await store.replayMatching(filter, options);
      if (outcome.outcome === 'replayed' && outcome.count > 0) tellAll();
      return outcome;
    },
  };
}
