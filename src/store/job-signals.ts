/**
 * Work this process has just written, told to this process's own worker loops, so a loop idling
 * between polls claims it at once instead of when its idle interval runs out
 * (docs/adr/0050-delivery-wakes-on-local-accepts-and-finishes-in-one-statement.md). Only a hint:
 * the loops still poll the store as before, which is how they find work other replicas wrote,
 * retries that came due and anything a lost signal would have told them; a signal only ends an
 * idle wait early.
 */
import type { AcceptOutcome, NewJob, QueueName, Store } from './store.ts';

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

/**
 * The store, with each accept that stored a new submission telling `signals` that its first job
 * is waiting (once committed: accept() resolves after its commit). A repeated or refused request
 * wrote no job, and a job due later than now is left to the poll.
 */
export function signallingAccepts(store: Store, signals: JobSignals, clock: () => Date): Store {
  return {
    ...store,
    async accept(submission, firstJob): Promise<AcceptOutcome> {
      const outcome = await store.accept(submission, firstJob);
      if (outcome.outcome === 'created' && isDue(firstJob, clock())) signals.notify(firstJob.queue);
      return outcome;
    },
  };
}

function isDue(job: Pick<NewJob, 'runAt'>, now: Date): boolean {
  return job.runAt.getTime() <= now.getTime();
}
