// The outbox worker loop with claim-ahead, on a real SQLite store in memory: the next batch is
// claimed while one is handled, batches are still handed over one at a time in claim order, and
// a batch claimed ahead never reaches the handler once it has waited past half its lease.
import type { Job, Store } from '../../../src/store/store.ts';
import { startWorkerLoop, type WorkerLoopOptions } from '../../../src/store/worker-loop.ts';
import { silentLogger } from '../../support/silent-logger.ts';
import { storeWithJobs } from '../../support/store-with-jobs.ts';
import { until } from '../../support/until.ts';

const LEASE_MS = 60_000;

function indexes(jobs: readonly Job[]): number[] {
  return jobs.map((job) => (job.payload as { index: number }).index);
}

function loopOptions(
  store: Store,
  clock: () => Date,
  handle: (jobs: readonly Job[]) => Promise<void>,
): WorkerLoopOptions {
  return {
    name: 'test',
    store,
    queue: 'event-publish',
    owner: 'test-owner',
    clock,
    logger: silentLogger,
    leaseMs: LEASE_MS,
    batchSize: 2,
    idleMs: 5,
    reapEveryMs: 3_600_000,
    claimAhead: true,
    handle,
  };
}

describe('worker loop with claim-ahead', () => {
  it('claims the next batch while one is handled, and hands batches over one at a time in claim order', async () => {
    const at = new Date('2026-12-05T10:00:00Z');
    const store = await storeWithJobs(7, 'event-publish', at);
    let claims = 0;
    const counted: Store = {
      ...store,
      claim: (...args) => {
        claims += 1;
        return store.claim(...args);
      },
    };
    const handled: number[][] = [];
    const claimsWhenHandled: number[] = [];
    let inHandle = 0;
    let mostInHandle = 0;
    const worker = startWorkerLoop(
      loopOptions(
        counted,
        () => at,
        async (jobs) => {
          inHandle += 1;
          mostInHandle = Math.max(mostInHandle, inHandle);
          await new Promise((resolve) => setTimeout(resolve, 10));
          claimsWhenHandled.push(claims);
          handled.push(indexes(jobs));
          for (const job of jobs) await store.complete(job, {}, at);
          inHandle -= 1;
        },
      ),
    );
    await until('all jobs handled', () => handled.flat().length === 7);
    await worker.stop();
    expect(handled).toEqual([[0, 1], [2, 3], [4, 5], [6]]);
    expect(mostInHandle).toBe(1);
    // Before the first batch's handler returned, the second batch had already been claimed.
    expect(claimsWhenHandled[0]).toBe(2);
    await store.close();
  });

  it('gives back, unhandled, a batch claimed ahead that waited past half its lease; it is handled later under a fresh lease', async () => {
    const at = new Date('2026-12-05T10:00:00Z');
    const store = await storeWithJobs(4, 'event-publish', at);
    let now = at.getTime();
    const clock = (): Date => new Date(now);
    const handled: number[][] = [];
    const leaseLeftAtHandOver: number[] = [];
    const worker = startWorkerLoop(
      loopOptions(store, clock, async (jobs) => {
        leaseLeftAtHandOver.push(Math.min(...jobs.map((job) => job.leaseExpiresAt.getTime())) - now);
        handled.push(indexes(jobs));
        // The first batch is slow: the batch claimed ahead meanwhile has 40 % of its lease left.
        if (handled.length === 1) now += LEASE_MS * 0.6;
        for (const job of jobs) await store.complete(job, {}, clock());
      }),
    );
    await until('all jobs handled', () => handled.flat().length >= 4);
    await worker.stop();
    expect(handled).toEqual([
      [0, 1],
      [2, 3],
    ]);
    // Without the check, [2, 3] would have been handed over with 40 % of its lease left.
    for (const left of leaseLeftAtHandOver) expect(left).toBeGreaterThanOrEqual(LEASE_MS / 2);
    await store.close();
  });

  it('on stop, gives back the batch claimed ahead so another worker can take it at once', async () => {
    const at = new Date('2026-12-05T10:00:00Z');
    const store = await storeWithJobs(4, 'event-publish', at);
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const handled: number[][] = [];
    const worker = startWorkerLoop(
      loopOptions(
        store,
        () => at,
        async (jobs) => {
          handled.push(indexes(jobs));
          await released;
          for (const job of jobs) await store.complete(job, {}, at);
        },
      ),
    );
    await until('the first batch handed over', () => handled.length === 1);
    const stopped = worker.stop();
    release();
    await stopped;
    expect(handled).toEqual([[0, 1]]);
    // Same clock: had the batch claimed ahead kept its lease, nobody else could claim it now.
    const taken = await store.claim('event-publish', 'another-worker', { now: at, leaseMs: LEASE_MS, limit: 10 });
    expect(indexes(taken)).toEqual([2, 3]);
    await store.close();
  });
});
