/**
 * The retention job: every RETENTION_SWEEP_INTERVAL_MS, erase the content (personal data) of
 * submissions finished long enough ago — delivered: RETENTION_DAYS after the last job; failed:
 * RETENTION_FAILED_DAYS after failing (kept longer so they can be replayed). In batches, each a
 * short statement; several replicas may sweep at once (the store skips rows another is erasing).
 * The rules and their reasons: docs/adr/0014-retention-and-audit.md.
 */
import type { Logger } from '../platform/logger.ts';
import { wakeableSleep } from '../platform/wakeable-sleep.ts';
import type { RunningWorker } from './worker-loop.ts';
import type { RetentionCutoffs, Store } from './store.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface RetentionPolicy {
  readonly deliveredDays: number;
  readonly failedDays: number;
}

export interface RetentionDeps {
  readonly store: Pick<Store, 'erasePersonalData'>;
  readonly policy: RetentionPolicy;
  readonly clock: () => Date;
  readonly logger: Logger;
  readonly intervalMs: number;
  readonly batchSize?: number;
}

/** The cutoffs at `now` (pure). */
export function retentionCutoffs(now: Date, policy: RetentionPolicy, limit: number): RetentionCutoffs {
  return {
    deliveredBefore: new Date(now.getTime() - policy.deliveredDays * DAY_MS),
    failedBefore: new Date(now.getTime() - policy.failedDays * DAY_MS),
    limit,
  };
}

/** One sweep: batches until one comes back short. Returns how many submissions were erased. */
export async function sweepOnce(deps: RetentionDeps): Promise<number> {
  const batchSize = deps.batchSize ?? 500;
  let total = 0;
  for (;;) {
    const now = deps.clock();
    const erased = await deps.store.erasePersonalData(retentionCutoffs(now, deps.policy, batchSize), now);
    total += erased.length;
    if (erased.length < batchSize) return total;
  }
}

export function startRetentionWorker(deps: RetentionDeps): RunningWorker {
  const log = deps.logger.child({ worker: 'retention' });
  let stopping = false;
  // Read through a function: a stop can arrive during a sweep, after the loop's own check.
  const stopRequested = (): boolean => stopping;
  const idle = wakeableSleep();

  const loop = async (): Promise<void> => {
    while (!stopRequested()) {
      try {
        const erased = await sweepOnce(deps);
        if (erased > 0) log.info({ erased, ...deps.policy }, 'erased the content of finished submissions (retention)');
      } catch (error) {
        // Nothing is lost by a missed sweep: the next one finds the same submissions.
        log.error({ err: error }, 'retention sweep failed; trying again at the next interval');
      }
      if (!stopRequested()) await idle.sleep(deps.intervalMs);
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
