// The continuous worker loop, on a real SQLite store in memory: it keeps its slots full by
// claiming as jobs finish (a slow job holds only its own slot), asks for every free slot in one
// claim, follows a limit that shrinks, and on stop claims nothing more but lets the jobs in
// flight finish.
import type { Job, Store } from '../../../src/store/store.ts';
import {
  startContinuousWorkerLoop,
  type ContinuousWorkerLoopOptions,
} from '../../../src/store/continuous-worker-loop.ts';
import { continuousLoopOptions } from '../../support/continuous-loop-options.ts';
import { storeWithJobs } from '../../support/store-with-jobs.ts';
import { until } from '../../support/until.ts';

const AT = new Date('2026-12-05T10:00:00Z');

const indexOf = (job: Job): number => (job.payload as { index: number }).index;

/** The store with every claim's limit and result size recorded. */
function countingClaims(store: Store): { store: Store; claims: { asked: number; got: number }[] } {
  const claims: { asked: number; got: number }[] = [];
  return {
    claims,
    store: {
      ...store,
      claim: async (queue, owner, options) => {
        const jobs = await store.claim(queue, owner, options);
        claims.push({ asked: options.limit, got: jobs.length });
        return jobs;
      },
    },
  };
}

function loopOptions(
  store: Store,
  slots: () => number,
  handle: (job: Job) => Promise<void>,
): ContinuousWorkerLoopOptions {
  return continuousLoopOptions(store, AT, { slots, handle });
}

/** A handler whose jobs finish only when the test says so. */
function heldJobs(store: Store) {
  const waiting = new Map<number, () => void>();
  const started: number[] = [];
  let inFlight = 0;
  let mostInFlight = 0;
  return {
    started,
    inFlight: () => inFlight,
    mostInFlight: () => mostInFlight,
    handle: async (job: Job): Promise<void> => {
      started.push(indexOf(job));
      inFlight += 1;
      mostInFlight = Math.max(mostInFlight, inFlight);
      await new Promise<void>((resolve) => waiting.set(indexOf(job), resolve));
      await store.complete(job, {}, AT);
      inFlight -= 1;
    },
    finish(index: number): void {
      const release = waiting.get(index);
      if (release === undefined) throw new Error(`job ${index} is not in flight`);
      waiting.delete(index);
      release();
    },
  };
}

describe('continuous worker loop', () => {
  it('claims for a slot as soon as its job is done, while a slow job of the same claim is still in flight', async () => {
    const store = await storeWithJobs(6, 'ehr-delivery', AT);
    const jobs = heldJobs(store);
    const worker = startContinuousWorkerLoop(loopOptions(store, () => 3, jobs.handle));
    await until('three jobs in flight', () => jobs.started.length === 3);
    expect(jobs.started).toEqual([0, 1, 2]);
    // Job 0 is slow; 1 and 2 finish. Under a batch barrier nothing more would start before job 0 is done.
    jobs.finish(1);
    jobs.finish(2);
    await until('two more jobs started', () => jobs.started.length === 5);
    expect(jobs.started).toEqual([0, 1, 2, 3, 4]);
    jobs.finish(3);
    await until('the last job started', () => jobs.started.length === 6);
    for (const index of [0, 4, 5]) jobs.finish(index);
    await worker.stop();
    expect(jobs.mostInFlight()).toBe(3);
    // Every job was completed: nothing is left to claim, even once every lease has expired.
    const later = new Date(AT.getTime() + 3_600_000);
    expect(await store.claim('ehr-delivery', 'next-owner', { now: later, leaseMs: 1_000, limit: 10 })).toEqual([]);
    await store.close();
  });

  it('asks for every free slot in one claim, and never claims while the slots are full', async () => {
    const { store, claims } = countingClaims(await storeWithJobs(20, 'ehr-delivery', AT));
    const jobs = heldJobs(store);
    const worker = startContinuousWorkerLoop(loopOptions(store, () => 4, jobs.handle));
    await until('four jobs in flight', () => jobs.started.length === 4);
    expect(claims).toEqual([{ asked: 4, got: 4 }]);
    // Three finish in the same turn of the loop: one claim takes up all three slots.
    jobs.finish(0);
    jobs.finish(1);
    jobs.finish(2);
    await until('three more jobs started', () => jobs.started.length === 7);
    expect(claims).toEqual([
      { asked: 4, got: 4 },
      { asked: 3, got: 3 },
    ]);
    for (let index = 3; index < 20; index += 1) {
      await until(`job ${index} started`, () => jobs.started.includes(index));
      jobs.finish(index);
    }
    await worker.stop();
    expect(jobs.mostInFlight()).toBe(4);
    // Never a claim for more slots than were free.
    expect(claims.every((claim) => claim.asked >= 1 && claim.asked <= 4)).toBe(true);
    await store.close();
  });

  it('follows a limit that shrinks: the jobs in flight finish, and it claims again only below the new limit', async () => {
    const store = await storeWithJobs(8, 'ehr-delivery', AT);
    const jobs = heldJobs(store);
    let limit = 4;
    const worker = startContinuousWorkerLoop(loopOptions(store, () => limit, jobs.handle));
    await until('four jobs in flight', () => jobs.started.length === 4);
    limit = 2;
    jobs.finish(0);
    await new Promise((resolve) => setTimeout(resolve, 30));
    // Three still in flight against a limit of two: nothing new.
    expect(jobs.started).toHaveLength(4);
    jobs.finish(1);
    jobs.finish(2);
    await until('one more job started', () => jobs.started.length === 5);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(jobs.inFlight()).toBe(2);
    for (let index = 3; index < 8; index += 1) {
      await until(`job ${index} started`, () => jobs.started.includes(index));
      jobs.finish(index);
    }
    await worker.stop();
    await store.close();
  });

  it('on stop, claims nothing more and resolves only after the jobs in flight are done', async () => {
    const { store, claims } = countingClaims(await storeWithJobs(5, 'ehr-delivery', AT));
    const jobs = heldJobs(store);
    const worker = startContinuousWorkerLoop(loopOptions(store, () => 2, jobs.handle));
    await until('two jobs in flight', () => jobs.started.length === 2);
    let stopped = false;
    const stopping = worker.stop().then(() => {
      stopped = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(stopped).toBe(false);
    jobs.finish(0);
    jobs.finish(1);
    await stopping;
    expect(jobs.started).toEqual([0, 1]);
    expect(claims).toHaveLength(1);
    // The three never claimed are still due, unleased, for whoever claims next.
    const left = await store.claim('ehr-delivery', 'next-owner', { now: AT, leaseMs: 1_000, limit: 10 });
    expect(left.map(indexOf)).toEqual([2, 3, 4]);
    await store.close();
  });

  it('keeps going when a job throws: the job stays under its lease, the others are handled', async () => {
    const store = await storeWithJobs(4, 'ehr-delivery', AT);
    const done: number[] = [];
    const worker = startContinuousWorkerLoop(
      loopOptions(
        store,
        () => 2,
        async (job) => {
          if (indexOf(job) === 1) throw new Error('the store went away');
          await store.complete(job, {}, AT);
          done.push(indexOf(job));
        },
      ),
    );
    await until('the other jobs handled', () => done.length === 3);
    await worker.stop();
    expect(done.sort()).toEqual([0, 2, 3]);
    // Job 1 is still leased to the worker: nobody else gets it before the lease expires.
    expect(await store.claim('ehr-delivery', 'next-owner', { now: AT, leaseMs: 1_000, limit: 10 })).toEqual([]);
    const afterLease = new Date(AT.getTime() + 60_001);
    expect(
      (await store.claim('ehr-delivery', 'next-owner', { now: afterLease, leaseMs: 1_000, limit: 10 })).map(indexOf),
    ).toEqual([1]);
    await store.close();
  });
});
