// Local work wakes the delivery worker: a submission this process accepts is claimed at once,
// not when the worker's idle interval runs out; a repeated request, a job due later, or work of
// another queue wakes nothing, and the poll still finds what no signal told of.
import { createSqliteStore } from '../../../src/store/sqlite-store.ts';
import { startContinuousWorkerLoop } from '../../../src/store/continuous-worker-loop.ts';
import { jobSignals, signallingAccepts } from '../../../src/store/job-signals.ts';
import type { Job, NewSubmission, Store } from '../../../src/store/store.ts';
import { continuousLoopOptions } from '../../support/continuous-loop-options.ts';
import { numberedSubmission } from '../../support/store-with-jobs.ts';
import { until } from '../../support/until.ts';

const AT = new Date('2026-12-06T10:00:00Z');
/** Longer than any test here waits: only a signal can end the worker's idle wait. */
const IDLE_MS = 60_000;

function submission(index: number): NewSubmission {
  return numberedSubmission(index, AT);
}

async function fixture(idleMs = IDLE_MS) {
  const store = createSqliteStore({ file: ':memory:' });
  await store.migrate();
  const signals = jobSignals();
  const intake: Store = signallingAccepts(store, signals, () => AT);
  const claims: number[] = [];
  const handled: string[] = [];
  const counted: Store = {
    ...store,
    claim: async (queue, owner, options) => {
      const jobs = await store.claim(queue, owner, options);
      claims.push(jobs.length);
      return jobs;
    },
  };
  const worker = startContinuousWorkerLoop(
    continuousLoopOptions(counted, AT, {
      idleMs,
      slots: () => 4,
      signals,
      handle: async (job: Job) => {
        handled.push(job.submissionId);
        await store.complete(job, {}, AT);
      },
    }),
  );
  // The first claim found the queue empty: the worker now waits out its idle interval.
  await until('the first, empty claim', () => claims.length >= 1);
  return { store, intake, signals, claims, handled, worker };
}

describe('job signals', () => {
  it('a submission accepted in this process is claimed at once, without waiting for the next poll', async () => {
    const { store, intake, handled, worker } = await fixture();
    await intake.accept(submission(1), { queue: 'ehr-delivery', payload: {}, runAt: AT });
    await until('the accepted submission handled', () => handled.length === 1);
    expect(handled).toEqual([submission(1).id]);
    await worker.stop();
    await store.close();
  });

  it('a repeated request, a job due later, or a job of another queue does not wake the worker', async () => {
    const { store, intake, signals, claims, worker } = await fixture();
    // Written straight to the store: this process's intake did not accept it, nothing tells the worker.
    await store.accept(submission(1), { queue: 'ehr-delivery', payload: {}, runAt: AT });
    // The same request again: nothing new was written.
    expect((await intake.accept(submission(1), { queue: 'ehr-delivery', payload: {}, runAt: AT })).outcome).toBe(
      'existing',
    );
    await intake.accept(submission(2), { queue: 'ehr-delivery', payload: {}, runAt: new Date(AT.getTime() + 1) });
    signals.notify('event-publish');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(claims).toEqual([0]);
    await worker.stop();
    await store.close();
  });

  it('the poll still finds work no signal told of', async () => {
    const { store, handled, worker } = await fixture(10);
    await store.accept(submission(1), { queue: 'ehr-delivery', payload: {}, runAt: AT });
    await until('the job found by the poll', () => handled.length === 1);
    await worker.stop();
    await store.close();
  });

  it('a stopped worker is no longer told', async () => {
    const { store, intake, claims, worker } = await fixture();
    await worker.stop();
    await intake.accept(submission(1), { queue: 'ehr-delivery', payload: {}, runAt: AT });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(claims).toEqual([0]);
    await store.close();
  });
});
