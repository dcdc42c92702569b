// Local work wakes the loop of its queue: a submission this process accepts is claimed at once,
// and so is an event a delivery this process completed added, not when the loop's idle interval
// runs out; a repeated request, a job due later, a lost lease, or work of another queue wakes
// nothing, and the poll still finds what no signal told of.
import { createSqliteStore } from '../../../src/store/sqlite-store.ts';
import { startContinuousWorkerLoop } from '../../../src/store/continuous-worker-loop.ts';
import { jobSignals, signallingStore, type JobSignals } from '../../../src/store/job-signals.ts';
import { idleBackoff, startWorkerLoop } from '../../../src/store/worker-loop.ts';
import { silentLogger } from '../../support/silent-logger.ts';
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
  const intake: Store = signallingStore(store, signals, () => AT);
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

  it("an event added by completing a delivery in this process is relayed at once, without waiting for the relay's next poll", async () => {
    const store = createSqliteStore({ file: ':memory:' });
    await store.migrate();
    const signals = jobSignals();
    const writer = signallingStore(store, signals, () => AT);
    await store.accept(submission(1), { queue: 'ehr-delivery', payload: {}, runAt: AT });
    const relay = relayLoop(store, signals);
    await until('the relay idling after its first, empty claim', () => relay.claims() >= 1);
    const [delivery] = await store.claim('ehr-delivery', 'ehr', { now: AT, leaseMs: 60_000, limit: 1 });
    if (delivery === undefined) throw new Error('no delivery job');
    // Completed with its lease lost: nothing was written, nothing to tell.
    expect(await writer.complete({ ...delivery, leaseOwner: 'someone else' }, { enqueue: [event(1)] }, AT)).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(relay.batches).toEqual([]);
    expect(await writer.complete(delivery, { status: 'delivered', enqueue: [event(1)] }, AT)).toBe(true);
    await until('the event relayed', () => relay.batches.length === 1);
    expect(relay.batches).toEqual([[submission(1).id]]);
    await relay.stop();
    await store.close();
  });
});

describe('a relay that gathers', () => {
  it('events this process adds close together go in one claim, within the gathering time rather than the idle interval', async () => {
    const store = createSqliteStore({ file: ':memory:' });
    await store.migrate();
    const signals = jobSignals();
    const writer = signallingStore(store, signals, () => AT);
    for (const index of [1, 2])
      await store.accept(submission(index), { queue: 'ehr-delivery', payload: {}, runAt: AT });
    const relay = relayLoop(store, signals, 300);
    await until('the relay idling after its first, empty claim', () => relay.claims() >= 1);
    const deliveries = await store.claim('ehr-delivery', 'ehr', { now: AT, leaseMs: 60_000, limit: 2 });
    // 50 ms apart: a relay woken at once would have claimed the first alone.
    for (const [index, delivery] of deliveries.entries()) {
      if (index > 0) await new Promise((resolve) => setTimeout(resolve, 50));
      await writer.complete(delivery, { status: 'delivered', enqueue: [event(index + 1)] }, AT);
    }
    await until('the events relayed', () => relay.batches.length >= 1);
    expect(relay.batches).toEqual([[submission(1).id, submission(2).id]]);
    await relay.stop();
    await store.close();
  });
});

describe('idle backoff', () => {
  it('doubles the pause with each empty claim in a row, up to the longest, and starts again once a claim finds work', () => {
    const backoff = idleBackoff({ idleMs: 200, maxIdleMs: 1_000 });
    expect([0, 0, 0, 0, 0].map((found) => backoff.after(found))).toEqual([200, 400, 800, 1_000, 1_000]);
    expect(backoff.after(3)).toBe(200);
    expect(backoff.after(0)).toBe(200);
    expect(backoff.after(0)).toBe(400);
  });

  it('without a longest pause, every pause is the idle interval', () => {
    const backoff = idleBackoff({ idleMs: 500 });
    expect([0, 0, 0].map((found) => backoff.after(found))).toEqual([500, 500, 500]);
  });
});

/** An event-publish loop that waits IDLE_MS between polls unless told, and records its batches. */
function relayLoop(store: Store, signals: JobSignals, gatherMs?: number) {
  const batches: string[][] = [];
  let claims = 0;
  const loop = startWorkerLoop({
    name: 'relay',
    store,
    queue: 'event-publish',
    owner: 'relay',
    clock: () => AT,
    logger: silentLogger,
    leaseMs: 60_000,
    batchSize: 10,
    idleMs: IDLE_MS,
    reapEveryMs: 3_600_000,
    signals,
    ...(gatherMs === undefined ? {} : { gatherMs }),
    handle: async (jobs) => {
      batches.push(jobs.map((job) => job.submissionId));
      for (const job of jobs) await store.complete(job, {}, AT);
    },
    source: {
      claim: async (now, limit) => {
        claims += 1;
        return store.claim('event-publish', 'relay', { now, leaseMs: 60_000, limit });
      },
      giveBack: () => Promise.resolve(),
    },
  });
  return { batches, claims: () => claims, stop: () => loop.stop() };
}

function event(index: number) {
  return { queue: 'event-publish' as const, submissionId: submission(index).id, payload: {}, runAt: AT };
}
