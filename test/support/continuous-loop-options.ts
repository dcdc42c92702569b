/** A continuous worker loop's options as the tests run it: the ehr-delivery queue, quiet, no reaping. */
import type { ContinuousWorkerLoopOptions } from '../../src/store/continuous-worker-loop.ts';
import type { Store } from '../../src/store/store.ts';
import { silentLogger } from './silent-logger.ts';

export function continuousLoopOptions(
  store: Store,
  at: Date,
  own: Pick<ContinuousWorkerLoopOptions, 'slots' | 'handle'> & Partial<ContinuousWorkerLoopOptions>,
): ContinuousWorkerLoopOptions {
  return {
    name: 'test',
    store,
    queue: 'ehr-delivery',
    owner: 'test-owner',
    clock: () => at,
    logger: silentLogger,
    leaseMs: 60_000,
    batchSize: 8,
    idleMs: 5,
    reapEveryMs: 3_600_000,
    ...own,
  };
}
