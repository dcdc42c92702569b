/**
 * The one loop every outbox worker runs: claim due jobs of one queue under a lease, hand the
 * batch to the worker, repeat; reap leases whose holder died; stop on request after the batch
 * in progress. The job's own I/O (EHR, Kafka) happens in `handle`, outside any transaction.
 */
import type { Logger } from '../platform/logger.ts';
import type { Job, QueueName, Store } from './store.ts';
import { wakeableSleep } from '../platform/wakeable-sleep.ts';

/** How a worker claims: who it is, how long its lease lasts, how much it takes at once. */
export interface WorkerTuning {
  /** Unique per process and worker: whose lease a job is under. */
  readonly owner: string;
  /** Longer than the slowest batch can take, or another worker will take the jobs too. */
  readonly leaseMs?: number;
  readonly batchSize?: number;
  /** Pause after an empty claim. */
  readonly idleMs?: number;
}

export interface WorkerLoopOptions {
  readonly name: string;
  readonly store: Store;
  readonly queue: QueueName;
  /** Unique per process and worker: whose lease a job is under. */
  readonly owner: string;
  readonly clock: () => Date;
  readonly logger: Logger;
  /** Longer than the slowest `handle` can take, or another worker will take the job too. */
  readonly leaseMs: number;
  readonly batchSize: number;
  /** Pause after an empty claim. */
  readonly idleMs: number;
  /** How often expired leases are reaped. */
  readonly reapEveryMs: number;
  handle(jobs: readonly Job[]): Promise<void>;
}

export interface RunningWorker {
  /** Finishes the batch in progress, then stops. */
  stop(): Promise<void>;
}

export function startWorkerLoop(options: WorkerLoopOptions): RunningWorker {
  const log = options.logger.child({ worker: options.name });
  let stopping = false;
  let lastReap = 0;
  const idle = wakeableSleep();

  const loop = async (): Promise<void> => {
    while (!stopping) {
      try {
        const now = options.clock();
        if (now.getTime() - lastReap >= options.reapEveryMs) {
          lastReap = now.getTime();
          const reaped = await options.store.reapExpiredLeases(now);
          if (reaped > 0) log.warn({ reaped }, 'took back jobs whose lease expired (their worker died or stalled)');
        }
        const jobs = await options.store.claim(options.queue, options.owner, {
          now,
          leaseMs: options.leaseMs,
          limit: options.batchSize,
        });
        if (jobs.length === 0) {
          await idle.sleep(options.idleMs);
          continue;
        }
        await options.handle(jobs);
      } catch (error) {
        // A store that is briefly unreachable must not kill the worker; the jobs stay leased and
        // come back when the lease expires.
        log.error({ err: error }, 'worker cycle failed; trying again');
        await idle.sleep(options.idleMs);
      }
    }
  };

  const running = loop();
  return {
    async stop() {
      stopping = true;
      idle.wake();
      await running;
    },
  };
}
