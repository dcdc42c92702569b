/**
 * The one loop every outbox worker runs: claim due jobs of one queue under a lease, hand the
 * batch to the worker, repeat; reap leases whose holder died; stop on request after the batch
 * in progress. The job's own I/O (EHR, Kafka) happens in `handle`, outside any transaction.
 *
 * With `claimAhead`, the next batch is claimed while this one is handled, so the store's round
 * trip overlaps the handler's I/O instead of following it (docs/adr/0031-relay-pipeline.md). The
 * batch claimed ahead is handed over only after the batch before it is done, so handle() still
 * sees one batch at a time, in claim order. Its lease runs while it waits: a batch that waited
 * past half its lease is given back (where it was in the queue) rather than handled, so handle()
 * always has at least half a lease to finish in; so is one still waiting when the loop stops.
 */
import type { Logger } from '../platform/logger.ts';
import type { Job, QueueName, Store } from './store.ts';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { wakeableSleep } from '../platform/wakeable-sleep.ts';
import type { JobSignals } from './job-signals.ts';

/** How a worker claims: who it is, how long its lease lasts, how much it takes at once. */
export interface WorkerTuning {
  /** Unique per process and worker: whose lease a job is under. */
  readonly owner: string;
  /** Longer than the slowest batch can take, or another worker will take the jobs too. */
  readonly leaseMs?: number;
  readonly batchSize?: number;
  /** Pause after an empty claim. */
  readonly idleMs?: number;
  /** The longest pause after empty claims in a row (each worker has its own default; see idleBackoff). */
  readonly maxIdleMs?: number;
}

/** What every worker loop is told: which queue, whose leases, how long, how often. */
export interface LoopBasics {
  readonly name: string;
  readonly store: Store;
  readonly queue: QueueName;
  /** Unique per process and worker: whose lease a job is under. */
  readonly owner: string;
  readonly clock: () => Date;
  readonly logger: Logger;
  /** Longer than the slowest `handle` can take, or another worker will take the job too. */
  readonly leaseMs: number;
  /** The most one claim takes. */
  readonly batchSize: number;
  /** Pause after a claim that found the queue empty (or, claiming for slots, drained). */
  readonly idleMs: number;
  /**
   * Empty claims in a row double the pause, up to this (unset: `idleMs`, no growth). Local
   * `signals` end any pause early (see `gatherMs`); the poll is for other replicas' work and
   * retries that come due.
   */
  readonly maxIdleMs?: number;
  /** This process's own new jobs, which end an idle wait early (src/store/job-signals.ts). */
  readonly signals?: JobSignals;
  /**
   * After a signal, how long the loop still gathers before it claims (at most: an idle wait due to
   * end sooner ends then). Unset, a signal ends the wait at once.
   */
  readonly gatherMs?: number;
  /** How often expired leases are reaped. */
  readonly reapEveryMs: number;
}

/**
 * Where a loop's batches come from and where a batch it will not handle goes back to. Unset, each
 * job's own row is leased (`Store.claim`) and a job is given back by releasing that lease where it
 * was in the queue; the event relay reads its queue under one lease instead (queue-lease-source.ts).
 */
export interface JobSource {
  claim(now: Date, limit: number): Promise<Job[]>;
  giveBack(jobs: readonly Job[]): Promise<void>;
}

export interface WorkerLoopOptions extends LoopBasics {
  /** Claim the next batch while this one is handled (default false). */
  readonly claimAhead?: boolean;
  /** Default: each job's row leased to `owner` for `leaseMs`. */
  readonly source?: JobSource;
  /** The most the next claim takes, asked before each claim, when it varies (default `batchSize`). */
  readonly claimSize?: () => number;
  handle(jobs: readonly Job[]): Promise<void>;
}

export interface RunningWorker {
  /** Finishes the batch in progress, then stops. */
  stop(): Promise<void>;
}

/**
 * Takes back the jobs whose lease expired (their worker died or stalled), at most once per
 * `reapEveryMs`; called from a worker loop's every turn.
 */
export function leaseReaper(options: LoopBasics, log: Logger): () => Promise<void> {
  let lastReap = 0;
  return async () => {
    const now = options.clock();
    if (now.getTime() - lastReap < options.reapEveryMs) return;
    lastReap = now.getTime();
    const reaped = await options.store.reapExpiredLeases(now);
    if (reaped > 0) log.warn({ reaped }, 'took back jobs whose lease expired (their worker died or stalled)');
  };
}

/**
 * How long a loop pauses after a claim: `idleMs` after one that found work, doubling with each
 * empty claim in a row up to `maxIdleMs`. An idle queue costs a claim (a statement, a round trip,
 * a wake-up) per pause; most of an idle service's CPU was these polls
 * (docs/adr/0063-idle-polls-back-off-and-local-work-wakes-every-loop.md).
 */
export function idleBackoff(options: Pick<LoopBasics, 'idleMs' | 'maxIdleMs'>): {
  /** The pause after this claim, given how many jobs it found. */
  after(found: number): number;
} {
  const longest = Math.max(options.idleMs, options.maxIdleMs ?? options.idleMs);
  let pause = options.idleMs;
  return {
    after(found) {
      if (found > 0) {
        pause = options.idleMs;
        return pause;
      }
      const now = pause;
      pause = Math.min(longest, pause * 2);
      return now;
    },
  };
}

export function startWorkerLoop(options: WorkerLoopOptions): RunningWorker {
  const log = options.logger.child({ worker: options.name });
  const reapWhenDue = leaseReaper(options, log);
  let stopping = false;
  const idle = wakeableSleep();
  const backoff = idleBackoff(options);
  const { gatherMs } = options;
  const unsubscribe = options.signals?.subscribe(
    options.queue,
    gatherMs === undefined
      ? idle.wake
      : () => {
          idle.shorten(gatherMs);
        },
  );
  // Read through a function: stop() changes it while the loop awaits, which narrowing cannot see.
  const stopRequested = (): boolean => stopping;

  const source = options.source ?? rowLeases(options);
  const claim = (now: Date): Promise<Job[]> => source.claim(now, options.claimSize?.() ?? options.batchSize);

  const giveBack = async (jobs: readonly Job[], why: string): Promise<void> => {
    await source.giveBack(jobs);
    log.warn({ jobs: jobs.length }, why);
  };

  /** The batch claimed ahead, if any; its rejection is observed where it is awaited. */
  let ahead: Promise<Job[]> | undefined;
  const claimNext = (): void => {
    const claimed = (async () => {
      // First let handle() send its I/O: SQLite claims synchronously, on this thread, and would
      // otherwise run before the request it is meant to overlap has even gone out.
      await yieldToLoop();
      return claim(options.clock());
    })();
    claimed.catch(() => undefined);
    ahead = claimed;
  };
  const takeAhead = async (): Promise<Job[]> => {
    const claimed = ahead;
    ahead = undefined;
    if (claimed === undefined) return [];
    const jobs = await claimed;
    if (jobs.length === 0 || leaseLeftMs(jobs, options.clock()) >= options.leaseMs / 2) return jobs;
    await giveBack(jobs, 'a batch claimed ahead waited past half its lease; gave it back unhandled');
    return [];
  };

  const loop = async (): Promise<void> => {
    while (!stopping) {
      try {
        await reapWhenDue();
        let jobs = await takeAhead();
        // Nothing claimed ahead (or nothing was due then): what is due now.
        if (jobs.length === 0) jobs = await claim(options.clock());
        if (jobs.length === 0) {
          await idle.sleep(backoff.after(0));
          continue;
        }
        backoff.after(jobs.length);
        // Not once stop() was asked for during the claim: the batch would only be given back.
        if (options.claimAhead === true && !stopRequested()) claimNext();
        await options.handle(jobs);
      } catch (error) {
        // A store that is briefly unreachable must not kill the worker; the jobs stay leased and
        // come back when the lease expires.
        log.error({ err: error }, 'worker cycle failed; trying again');
        await idle.sleep(options.idleMs);
      }
    }
    unsubscribe?.();
    const left = await ahead?.catch(() => []);
    if (left !== undefined && left.length > 0) {
      await giveBack(left, 'stopping: gave back the batch claimed ahead').catch((error: unknown) => {
        log.error({ err: error }, 'could not give back the batch claimed ahead; it comes back when its lease expires');
      });
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

/** Each job's own row leased to the loop's owner; given back where it was in the queue (same run_at). */
function rowLeases(options: LoopBasics): JobSource {
  return {
    claim: (now, limit) => options.store.claim(options.queue, options.owner, { now, leaseMs: options.leaseMs, limit }),
    async giveBack(jobs) {
      const now = options.clock();
      for (const job of jobs) await options.store.retryLater(job, job.runAt, {}, now);
    },
  };
}

/** Milliseconds until the first of the jobs' leases expires. */
function leaseLeftMs(jobs: readonly Job[], now: Date): number {
  return Math.min(...jobs.map((job) => job.leaseExpiresAt.getTime())) - now.getTime();
}
