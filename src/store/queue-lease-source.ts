/**
 * A queue read under one lease on the whole queue (docs/adr/0059-the-relay-leases-the-queue-not-each-row.md):
 * the holder reads due jobs without writing a lease into each row, one of the two writes of its
 * row an event cost the store. The lease is the one thing that keeps two holders apart, so the
 * holder itself remembers which jobs it has in hand — read and not yet finished — and leaves them
 * out of its next reads: a batch read ahead never repeats one still being published or marked.
 */
import type { JobSource } from './worker-loop.ts';
import type { Job, QueueName, Store } from './store.ts';

export interface QueueLeaseSource extends JobSource {
  /** The jobs are finished, retried or given up on by their holder: they may be read again. */
  settled(jobs: readonly Job[]): void;
  /** Gives up the queue's lease, so that another replica need not wait for it to expire. */
  release(): Promise<void>;
}

export function queueLeaseSource(options: {
  readonly store: Store;
  readonly queue: QueueName;
  /** Unique per process and worker: who holds the queue. */
  readonly owner: string;
  /** How long the lease lasts unrenewed; it is renewed by reads once half of it has run. */
  readonly leaseMs: number;
}): QueueLeaseSource {
  const inHand = new Set<string>();
  const settled = (jobs: readonly Job[]): void => {
    for (const job of jobs) inHand.delete(job.id);
  };
  return {
    async claim(now, limit) {
      const jobs = await options.store.readUnderQueueLease(options.queue, options.owner, {
        now,
        leaseMs: options.leaseMs,
        limit,
        skip: [...inHand],
      });
      for (const job of jobs) inHand.add(job.id);
      return jobs;
    },
    // Nothing was written to take them, so nothing is written to give them back.
    giveBack: (jobs) => {
      settled(jobs);
      return Promise.resolve();
    },
    settled,
    release: () => options.store.releaseQueueLease(options.queue, options.owner),
  };
}
