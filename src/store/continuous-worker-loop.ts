/**
 * A worker loop for jobs handled one by one, each for as long as its own I/O takes (a Bundle to
 * the EHR): it keeps up to `slots()` jobs in flight all the time, claiming as slots free up,
 * rather than claiming a batch and waiting for its slowest job before claiming the next (which
 * leaves slots idle at the tail of every batch; docs/adr/0042-continuous-delivery-claiming.md).
 *
 * - At most one claim is outstanding, and it asks for every slot free when it starts (up to
 *   `batchSize`): completions that land together are taken up by one claim, so the store sees
 *   at most one claim per finished job and far fewer when the work is fast.
 * - A job is claimed only for a free slot and handed over at once, so no job waits out its lease
 *   in a buffer: each is handled once per claim, under a fresh lease.
 * - A claim that found fewer jobs than it asked for means the queue is drained: the next one
 *   waits `idleMs`, and after empty claims in a row up to `maxIdleMs` (a finished job does not end
 *   that wait; it adds nothing to the queue).
 * - `slots()` is asked before every claim: a limit that shrinks (an EHR answering 429/503) lets
 *   the jobs in flight finish and claims again only below the new limit.
 * - With `signals`, a job this process wrote to the queue (an accept, a replay) ends an idle wait
 *   at once: the first Bundle of a burst goes out when it is accepted, not up to `idleMs` later
 *   (docs/adr/0050-delivery-wakes-on-local-accepts-and-finishes-in-one-statement.md). The polls
 *   go on, for other replicas' work and retries that come due.
 * - stop() claims nothing more and resolves once every job in flight has finished.
 *
 * A job whose handler throws is logged and left under its lease; it comes back when the lease
 * expires, as with a worker that died.
 */
import { wakeableSleep } from '../platform/wakeable-sleep.ts';
import type { Job } from './store.ts';
import { idleBackoff, leaseReaper, type LoopBasics, type RunningWorker } from './worker-loop.ts';

export interface ContinuousWorkerLoopOptions extends LoopBasics {
  /** Jobs allowed in flight now (asked before every claim; at least 1 is always allowed). */
  slots(): number;
  handle(job: Job): Promise<void>;
}

export function startContinuousWorkerLoop(options: ContinuousWorkerLoopOptions): RunningWorker {
  const log = options.logger.child({ worker: options.name });
  const reapWhenDue = leaseReaper(options, log);
  let stopping = false;
  const idle = wakeableSleep();
  const slotFreed = wakeableSleep();
  const backoff = idleBackoff(options);
  const unsubscribe = options.signals?.subscribe(options.queue, idle.wake);
  const inFlight = new Set<Promise<void>>();
  // Read through a function: stop() changes it while the loop awaits, which narrowing cannot see.
  const stopRequested = (): boolean => stopping;

  const start = (job: Job): void => {
    const running: Promise<void> = Promise.resolve()
      .then(() => options.handle(job))
      .catch((error: unknown) => {
        log.error({ err: error, jobId: job.id }, 'handling a job failed; it comes back when its lease expires');
      })
      .finally(() => {
        inFlight.delete(running);
        slotFreed.wake();
      });
    inFlight.add(running);
  };

  const loop = async (): Promise<void> => {
    while (!stopRequested()) {
      try {
        await reapWhenDue();
        const free = Math.min(options.batchSize, Math.max(1, options.slots()) - inFlight.size);
        if (free <= 0) {
          // Woken by the next job to finish (or by stop); the lease bounds the wait so reaping goes on.
          await slotFreed.sleep(options.leaseMs);
          continue;
        }
        const jobs = await options.store.claim(options.queue, options.owner, {
          now: options.clock(),
          leaseMs: options.leaseMs,
          limit: free,
        });
        // Claimed jobs are handled even if stop() came meanwhile: giving them back costs as much.
        for (const job of jobs) start(job);
        const pause = backoff.after(jobs.length);
        if (jobs.length < free && !stopRequested()) await idle.sleep(pause);
      } catch (error) {
        // A store that is briefly unreachable must not kill the worker; jobs it could not finish
        // stay leased and come back when the lease expires.
        log.error({ err: error }, 'worker cycle failed; trying again');
        if (!stopRequested()) await idle.sleep(options.idleMs);
      }
    }
    unsubscribe?.();
    // start() never rejects: every handler's failure is logged where it happens.
    while (inFlight.size > 0) await Promise.all(inFlight);
  };

  const running = loop();
  return {
    async stop() {
      stopping = true;
      idle.wake();
      slotFreed.wake();
      await running;
    },
  };
}
