/**
 * The Store contract: what every adapter must do, pinned once and run against each
 * (store.test.ts). Time is always passed in, from fixed dates; every test makes its own store
 * (a temporary file, or a fresh random schema) and its own records.
 */
import { randomUUID } from 'node:crypto';
import { Problem } from '../../src/platform/problem.ts';
import type { AuditEntry, NewJob, NewSubmission, QueueName, Store, Submission } from '../../src/store/store.ts';

export interface StoreUnderTest {
  /** A store on a database of its own, not yet migrated. */
  readonly store: Store;
  /** Another store on the same database through its own connection(s), as a second replica or a restart would. */
  reopen(): Promise<Store>;
  /** Closes every store made and removes the database. */
  cleanup(): Promise<void>;
  /** Runs one SQL statement on the store's database behind the port's back, as an intruder or a careless operator would. */
  tamper(statement: string): Promise<void>;
  /** Reads rows behind the port's back (what is really on disk), e.g. to prove something was erased. */
  peek(statement: string): Promise<Record<string, unknown>[]>;
}

const T0 = new Date('2026-03-02T08:00:00.000Z');
const at = (ms: number): Date => new Date(T0.getTime() + ms);
const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

function newSubmission(overrides: Partial<NewSubmission> = {}): NewSubmission {
  const inputId = overrides.inputId ?? `session-${randomUUID()}`;
  return {
    id: randomUUID(),
    kind: 'hit-sessions',
    source: 'clinic-a',
    inputId,
    bodyHash: 'a'.repeat(64),
    body: { sessionId: inputId, intervals: [{ minutes: 4, peakBpm: 172 }], note: 'Økt på tredemølle, 4×4' },
    patientKey: 'pk-3f9a1c',
    acceptedAt: T0,
    ...overrides,
  };
}

const deliveryJob = (payload: unknown = { mapping: 'hit-session' }): Omit<NewJob, 'submissionId'> => ({
  queue: 'ehr-delivery',
  payload,
  runAt: T0,
});

function only<T>(items: readonly T[]): T {
  expect(items).toHaveLength(1);
  return items[0] as T;
}

export function describeStoreContract(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  describe(`Store contract: ${name}`, () => {
    let subject: StoreUnderTest;
    let store: Store;

    beforeEach(async () => {
      subject = await makeStore();
      store = subject.store;
      await store.migrate();
    });

    afterEach(async () => {
      await subject.cleanup();
    });

    async function created(overrides: Partial<NewSubmission> = {}, job = deliveryJob()): Promise<Submission> {
      const outcome = await store.accept(newSubmission(overrides), job);
      if (outcome.outcome !== 'created') throw new Error(`expected created, got ${outcome.outcome}`);
      return outcome.submission;
    }

    async function claimOne(queue: QueueName = 'ehr-delivery', owner = 'worker-1', now = T0, leaseMs = MINUTE) {
      return only(await store.claim(queue, owner, { now, leaseMs, limit: 10 }));
    }

    describe('accept', () => {
      it('writes the submission, its first job and an accepted timeline entry together', async () => {
        const candidate = newSubmission({ idempotencyKey: 'key-1' });
        const outcome = await store.accept(candidate, deliveryJob({ mapping: 'hit-session', attempt: 'first' }));

        const expected: Submission = {
          id: candidate.id,
          kind: 'hit-sessions',
          source: 'clinic-a',
          inputId: candidate.inputId,
          idempotencyKey: 'key-1',
          bodyHash: candidate.bodyHash,
          body: candidate.body,
          patientKey: 'pk-3f9a1c',
          status: 'accepted',
          acceptedAt: T0,
          updatedAt: T0,
          ehrReferences: [],
          bodyErasedAt: undefined,
        };
        expect(outcome).toEqual({ outcome: 'created', submission: expected });
        expect(await store.getSubmission(candidate.id)).toEqual(expected);
        expect(await store.timeline(candidate.id)).toEqual([
          { at: T0, kind: 'accepted', message: expect.any(String) as string, detail: { queue: 'ehr-delivery' } },
        ]);
        const job = await claimOne();
        expect(job).toMatchObject({
          queue: 'ehr-delivery',
          submissionId: candidate.id,
          payload: { mapping: 'hit-session', attempt: 'first' },
          runAt: T0,
          createdAt: T0,
        });
      });

      it('an accept that fails part-way leaves nothing behind', async () => {
        const candidate = newSubmission();
        // A payload JSON cannot carry: the job cannot be written, so neither may the submission be.
        await expect(store.accept(candidate, deliveryJob({ count: 1n }))).rejects.toBeInstanceOf(Problem);
        expect(await store.getSubmission(candidate.id)).toBeUndefined();
        expect((await store.backlog(T0))['ehr-delivery'].count).toBe(0);
        expect((await store.accept(candidate, deliveryJob())).outcome).toBe('created');
      });

      it('the same input id from the same source with the same body is the existing submission, with no second job', async () => {
        const first = await created({ inputId: 'session-1' });
        const again = await store.accept(newSubmission({ inputId: 'session-1' }), deliveryJob());
        expect(again).toEqual({ outcome: 'existing', submission: first });
        expect((await store.backlog(T0))['ehr-delivery'].count).toBe(1);
        expect(await store.timeline(first.id)).toHaveLength(1);
      });

      it('the same input id with a different body is a conflict on the input id, with no second job', async () => {
        const first = await created({ inputId: 'session-1' });
        const other = await store.accept(
          newSubmission({ inputId: 'session-1', bodyHash: 'b'.repeat(64) }),
          deliveryJob(),
        );
        expect(other).toEqual({ outcome: 'conflict', existing: first, reason: 'input-id' });
        expect((await store.backlog(T0))['ehr-delivery'].count).toBe(1);
      });

      it('the same input id from another source, or of another kind, is another submission', async () => {
        await created({ inputId: 'x-1' });
        await created({ inputId: 'x-1', source: 'clinic-b' });
        await created({ inputId: 'x-1', kind: 'fitness-tests' });
        expect((await store.backlog(T0))['ehr-delivery'].count).toBe(3);
      });

      it('the same idempotency key with the same body is the existing submission', async () => {
        const first = await created({ idempotencyKey: 'key-1' });
        // A retry whose input id the caller re-generated: the key decides.
        const again = await store.accept(newSubmission({ idempotencyKey: 'key-1' }), deliveryJob());
        expect(again).toEqual({ outcome: 'existing', submission: first });
        expect((await store.backlog(T0))['ehr-delivery'].count).toBe(1);
      });

      it('the same idempotency key with a different body is a conflict on the key, with no second job', async () => {
        const first = await created({ idempotencyKey: 'key-1' });
        const other = await store.accept(
          newSubmission({ idempotencyKey: 'key-1', bodyHash: 'c'.repeat(64) }),
          deliveryJob(),
        );
        expect(other).toEqual({ outcome: 'conflict', existing: first, reason: 'idempotency-key' });
        expect((await store.backlog(T0))['ehr-delivery'].count).toBe(1);
      });

      it('the idempotency key is asked before the input id', async () => {
        const first = await created({ inputId: 'session-1', idempotencyKey: 'key-1' });
        const other = await store.accept(
          newSubmission({ inputId: 'session-1', idempotencyKey: 'key-1', bodyHash: 'd'.repeat(64) }),
          deliveryJob(),
        );
        expect(other).toEqual({ outcome: 'conflict', existing: first, reason: 'idempotency-key' });
      });

      it('an idempotency key is scoped to its source', async () => {
        await created({ idempotencyKey: 'key-1' });
        const elsewhere = await store.accept(
          newSubmission({ idempotencyKey: 'key-1', source: 'clinic-b', bodyHash: 'e'.repeat(64) }),
          deliveryJob(),
        );
        expect(elsewhere.outcome).toBe('created');
      });

      it('concurrent accepts of one new input: exactly one created, the others existing, one job', async () => {
        const outcomes = await Promise.all(
          Array.from({ length: 20 }, () =>
            store.accept(newSubmission({ inputId: 'session-race', idempotencyKey: 'key-race' }), deliveryJob()),
          ),
        );
        const createdOnes = outcomes.filter((outcome) => outcome.outcome === 'created');
        expect(createdOnes).toHaveLength(1);
        expect(outcomes.filter((outcome) => outcome.outcome === 'existing')).toHaveLength(19);
        const ids = new Set(outcomes.map((outcome) => (outcome.outcome === 'conflict' ? '' : outcome.submission.id)));
        expect(ids.size).toBe(1);
        expect((await store.backlog(T0))['ehr-delivery'].count).toBe(1);
      });

      it('concurrent accepts of distinct inputs are all created, each with its own job, and all readable after', async () => {
        const candidates = Array.from({ length: 40 }, () => newSubmission());
        const outcomes = await Promise.all(candidates.map((candidate) => store.accept(candidate, deliveryJob())));
        expect(outcomes.map((outcome) => outcome.outcome)).toEqual(candidates.map(() => 'created'));
        for (const candidate of candidates) {
          expect((await store.getSubmission(candidate.id))?.inputId).toBe(candidate.inputId);
          expect((await store.timeline(candidate.id)).map((entry) => entry.kind)).toEqual(['accepted']);
        }
        expect((await store.backlog(T0))['ehr-delivery'].count).toBe(40);
      });

      it('an accept that fails among concurrent ones rejects alone: the others are created and stored', async () => {
        const before = newSubmission();
        const failing = newSubmission();
        const after = newSubmission();
        const [first, broken, last] = await Promise.allSettled([
          store.accept(before, deliveryJob()),
          store.accept(failing, deliveryJob({ count: 1n })),
          store.accept(after, deliveryJob()),
        ]);
        expect(first).toMatchObject({ status: 'fulfilled', value: { outcome: 'created' } });
        expect(broken).toMatchObject({ status: 'rejected', reason: expect.any(Problem) as Problem });
        expect(last).toMatchObject({ status: 'fulfilled', value: { outcome: 'created' } });
        expect(await store.getSubmission(before.id)).toBeDefined();
        expect(await store.getSubmission(failing.id)).toBeUndefined();
        expect(await store.getSubmission(after.id)).toBeDefined();
        expect((await store.backlog(T0))['ehr-delivery'].count).toBe(2);
      });

      it('concurrent accepts of one input id with different bodies: one created, the other a conflict on the input id', async () => {
        const outcomes = await Promise.all([
          store.accept(newSubmission({ inputId: 'session-split' }), deliveryJob()),
          store.accept(newSubmission({ inputId: 'session-split', bodyHash: 'b'.repeat(64) }), deliveryJob()),
        ]);
        expect(outcomes.map((outcome) => outcome.outcome).sort()).toEqual(['conflict', 'created']);
        expect((await store.backlog(T0))['ehr-delivery'].count).toBe(1);
      });

      it('getSubmission of an unknown id is undefined', async () => {
        expect(await store.getSubmission(randomUUID())).toBeUndefined();
      });

      it('findSubmission finds a submission by source, kind and input id, and nothing for another source or kind', async () => {
        const submission = await created({ kind: 'prescriptions', inputId: 'rx-1' });
        expect((await store.findSubmission('clinic-a', 'prescriptions', 'rx-1'))?.id).toBe(submission.id);
        expect(await store.findSubmission('clinic-b', 'prescriptions', 'rx-1')).toBeUndefined();
        expect(await store.findSubmission('clinic-a', 'hit-sessions', 'rx-1')).toBeUndefined();
      });
    });

    describe('claim', () => {
      it('returns only due jobs of the asked queue, earliest run_at first, at most the limit', async () => {
        const later = await created({}, { ...deliveryJob(), runAt: at(5 * MINUTE) });
        const second = await created({}, { ...deliveryJob(), runAt: at(-MINUTE) });
        const first = await created({}, { ...deliveryJob(), runAt: at(-2 * MINUTE) });
        const third = await created({}, { ...deliveryJob(), runAt: T0 });
        await created({}, { queue: 'event-publish', payload: {}, runAt: at(-3 * MINUTE) });

        const batch = await store.claim('ehr-delivery', 'w', { now: T0, leaseMs: HOUR, limit: 2 });
        expect(batch.map((job) => job.submissionId)).toEqual([first.id, second.id]);
        const rest = await store.claim('ehr-delivery', 'w', { now: T0, leaseMs: HOUR, limit: 10 });
        expect(rest.map((job) => job.submissionId)).toEqual([third.id]);
        const due = await store.claim('ehr-delivery', 'w', { now: at(5 * MINUTE), leaseMs: HOUR, limit: 10 });
        expect(due.map((job) => job.submissionId)).toEqual([later.id]);
        expect(await store.claim('ehr-delivery', 'w', { now: at(5 * MINUTE), leaseMs: MINUTE, limit: 0 })).toEqual([]);
      });

      it('sets the lease and counts the attempt; a held job is not claimed again', async () => {
        await created();
        const job = await claimOne('ehr-delivery', 'worker-1', T0, 30 * SECOND);
        expect(job).toMatchObject({ leaseOwner: 'worker-1', leaseExpiresAt: at(30 * SECOND), attempts: 1 });
        expect(
          await store.claim('ehr-delivery', 'worker-2', { now: at(29 * SECOND), leaseMs: MINUTE, limit: 10 }),
        ).toEqual([]);
      });

      it('a job whose lease expired is claimed again, with attempts + 1', async () => {
        await created();
        const first = await claimOne('ehr-delivery', 'worker-1', T0, 30 * SECOND);
        const second = await claimOne('ehr-delivery', 'worker-2', at(30 * SECOND), 30 * SECOND);
        expect(second).toMatchObject({ id: first.id, leaseOwner: 'worker-2', attempts: 2 });
      });

      it('claimers on separate connections never get the same job (200 jobs, every one claimed exactly once)', async () => {
        const other = await subject.reopen();
        for (let index = 0; index < 200; index += 1) await created();
        const claimedBy = new Map<string, string[]>();
        const loop = async (claimer: Store, owner: string): Promise<void> => {
          for (;;) {
            const jobs = await claimer.claim('ehr-delivery', owner, { now: T0, leaseMs: MINUTE, limit: 3 });
            if (jobs.length === 0) return;
            for (const job of jobs) claimedBy.set(job.id, [...(claimedBy.get(job.id) ?? []), owner]);
          }
        };
        await Promise.all(
          [store, other].flatMap((claimer, side) =>
            Array.from({ length: 4 }, (_, index) => loop(claimer, `replica-${side}-${index}`)),
          ),
        );
        expect(claimedBy.size).toBe(200);
        expect([...claimedBy.values()].filter((owners) => owners.length !== 1)).toEqual([]);
        const owners = new Set([...claimedBy.values()].flat());
        expect(owners.size).toBeGreaterThan(1);
      });
    });

    describe('a queue leased whole (readUnderQueueLease)', () => {
      const eventJob = (runAt = T0): Omit<NewJob, 'submissionId'> => ({ queue: 'event-publish', payload: {}, runAt });
      const read = (owner: string, now = T0, options: { limit?: number; skip?: string[]; leaseMs?: number } = {}) =>
        store.readUnderQueueLease('event-publish', owner, {
          now,
          leaseMs: options.leaseMs ?? MINUTE,
          limit: options.limit ?? 10,
          skip: options.skip ?? [],
        });

      it('reads due jobs earliest first, at most the limit and none it is told to skip, without writing them', async () => {
        const second = await created({}, eventJob(at(-MINUTE)));
        const first = await created({}, eventJob(at(-2 * MINUTE)));
        await created({}, eventJob(at(MINUTE)));
        await created();

        const batch = await read('relay-1', T0, { limit: 2 });
        expect(batch.map((job) => job.submissionId)).toEqual([first.id, second.id]);
        expect(batch[0]).toMatchObject({
          queue: 'event-publish',
          leaseOwner: 'relay-1',
          attempts: 1,
          leaseExpiresAt: at(MINUTE),
        });
        // Nothing was written: read again, the same jobs come back as the same first attempt.
        expect((await read('relay-1', T0, { limit: 2 })).map((job) => [job.id, job.attempts])).toEqual(
          batch.map((job) => [job.id, 1]),
        );
        expect((await read('relay-1', T0, { skip: [batch[0]?.id ?? ''] })).map((job) => job.submissionId)).toEqual([
          second.id,
        ]);
        expect(await read('relay-1', T0, { limit: 0 })).toEqual([]);
      });

      it('one holder at a time: another owner reads nothing until the lease expires or is given up', async () => {
        await created({}, eventJob());
        expect(await read('relay-1', T0)).toHaveLength(1);
        expect(await read('relay-2', at(MINUTE - 1))).toEqual([]);
        expect(only(await read('relay-2', at(MINUTE)))).toMatchObject({ leaseOwner: 'relay-2' });
        expect(await read('relay-1', at(MINUTE + SECOND))).toEqual([]);

        await store.releaseQueueLease('event-publish', 'relay-1');
        expect(await read('relay-1', at(MINUTE + SECOND))).toEqual([]);
        await store.releaseQueueLease('event-publish', 'relay-2');
        expect(await read('relay-1', at(MINUTE + SECOND))).toHaveLength(1);
      });

      it('the holder renews its lease once half of it has run, not before', async () => {
        await created({}, eventJob());
        expect(only(await read('relay-1', T0)).leaseExpiresAt).toEqual(at(MINUTE));
        expect(only(await read('relay-1', at(30 * SECOND - 1))).leaseExpiresAt).toEqual(at(MINUTE));
        expect(only(await read('relay-1', at(30 * SECOND + 1))).leaseExpiresAt).toEqual(at(90 * SECOND + 1));
        expect(await read('relay-2', at(MINUTE + SECOND))).toEqual([]);
      });

      it('holders on separate connections reading at once: only one of them gets the jobs', async () => {
        const other = await subject.reopen();
        for (let index = 0; index < 5; index += 1) await created({}, eventJob());
        const readers = [store, other].flatMap((reader, side) =>
          Array.from({ length: 3 }, (_, index) =>
            reader.readUnderQueueLease('event-publish', `relay-${side}-${index}`, {
              now: T0,
              leaseMs: MINUTE,
              limit: 10,
              skip: [],
            }),
          ),
        );
        const answers = await Promise.all(readers);
        expect(answers.filter((jobs) => jobs.length > 0)).toHaveLength(1);
        expect(answers.find((jobs) => jobs.length > 0)).toHaveLength(5);
      });

      it('the holder finishes what it read, with its effects; a job finished is not read again', async () => {
        const submission = await created({}, eventJob());
        const job = only(await read('relay-1'));
        const entry = { at: at(SECOND), kind: 'event-published', message: 'Event published.' } as const;
        expect(
          await store.completeAll([{ job, effects: { timeline: [entry] } }], at(SECOND), { waitForDisk: false }),
        ).toEqual([true]);
        expect((await store.timeline(submission.id)).map((written) => written.kind)).toContain('event-published');
        expect(await read('relay-1', at(SECOND))).toEqual([]);
        expect((await store.backlog(at(SECOND)))['event-publish'].count).toBe(0);
        expect(await store.complete(job, {}, at(SECOND))).toBe(false);
      });

      it('a former holder (the queue taken by another) gets false from complete, completeAll, retryLater and fail', async () => {
        const submission = await created({}, eventJob());
        const stale = only(await read('relay-1'));
        const current = only(await read('relay-2', at(MINUTE)));
        const effects = {
          timeline: [{ at: at(MINUTE), kind: 'event-published', message: 'Event published.' }],
        } as const;

        expect(await store.complete(stale, effects, at(MINUTE))).toBe(false);
        expect(await store.completeAll([{ job: stale, effects }], at(MINUTE))).toEqual([false]);
        expect(await store.retryLater(stale, at(HOUR), effects, at(MINUTE))).toBe(false);
        expect(await store.fail(stale, effects, at(MINUTE))).toBe(false);
        expect(await store.timeline(submission.id)).toHaveLength(1);

        expect(await store.completeAll([{ job: current, effects }], at(MINUTE))).toEqual([true]);
      });

      it('retryLater writes the attempt and the new run_at: read again then as the second attempt, the first fenced out', async () => {
        await created({}, eventJob());
        const first = only(await read('relay-1'));
        expect(await store.retryLater(first, at(10 * SECOND), {}, at(SECOND))).toBe(true);
        expect(await read('relay-1', at(10 * SECOND - 1))).toEqual([]);
        const second = only(await read('relay-1', at(10 * SECOND)));
        expect(second).toMatchObject({ id: first.id, attempts: 2, runAt: at(10 * SECOND) });
        expect(await store.complete(first, {}, at(10 * SECOND))).toBe(false);
        expect(await store.complete(second, {}, at(10 * SECOND))).toBe(true);
      });

      it('a job leased in its own row is left to its claimer, and other queues are claimed per row as before', async () => {
        await created({}, eventJob());
        const claimed = await claimOne('event-publish', 'old-relay');
        expect(await read('relay-1')).toEqual([]);
        expect(await store.complete(claimed, {}, at(SECOND))).toBe(true);

        await created();
        const delivery = await claimOne('ehr-delivery', 'relay-1', at(SECOND));
        expect(await store.complete(delivery, {}, at(SECOND))).toBe(true);
      });
    });

    describe('complete, retryLater and fail', () => {
      it.each([
        ['waiting for the disk', undefined],
        ['not waiting for the disk', { waitForDisk: false }],
      ])(
        'complete (%s) applies status, EHR references, timeline and follow-on jobs in the same transaction',
        async (_, options) => {
          const submission = await created();
          const job = await claimOne();
          const ok = await store.complete(
            job,
            {
              status: 'delivered',
              ehrReferences: ['Procedure/17/_history/1', 'Observation/18/_history/1'],
              timeline: [
                {
                  at: at(SECOND),
                  kind: 'ehr-attempt',
                  message: 'EHR answered 200.',
                  detail: { status: 200, attempt: 1 },
                },
                { at: at(2 * SECOND), kind: 'delivered', message: 'Delivered to the EHR.' },
              ],
              enqueue: [
                {
                  queue: 'event-publish',
                  submissionId: submission.id,
                  payload: { type: 'recorded' },
                  runAt: at(2 * SECOND),
                },
              ],
            },
            at(2 * SECOND),
            options,
          );
          expect(ok).toBe(true);
          expect(await store.getSubmission(submission.id)).toMatchObject({
            status: 'delivered',
            ehrReferences: ['Procedure/17/_history/1', 'Observation/18/_history/1'],
            updatedAt: at(2 * SECOND),
          });
          expect((await store.timeline(submission.id)).map((entry) => entry.kind)).toEqual([
            'accepted',
            'ehr-attempt',
            'delivered',
          ]);
          expect((await store.timeline(submission.id))[1]?.detail).toEqual({ status: 200, attempt: 1 });
          expect(await store.claim('ehr-delivery', 'w', { now: at(HOUR), leaseMs: MINUTE, limit: 10 })).toEqual([]);
          const followOn = only(
            await store.claim('event-publish', 'relay', { now: at(2 * SECOND), leaseMs: MINUTE, limit: 10 }),
          );
          expect(followOn).toMatchObject({ submissionId: submission.id, payload: { type: 'recorded' }, attempts: 1 });
        },
      );

      it('effects that cannot be written undo the whole change: the job stays held, nothing else moves', async () => {
        const submission = await created();
        const job = await claimOne();
        // The follow-on job names a submission that does not exist: its insert fails last.
        const broken = store.complete(
          job,
          {
            status: 'delivered',
            timeline: [{ at: at(SECOND), kind: 'delivered', message: 'Delivered.' }],
            enqueue: [{ queue: 'event-publish', submissionId: randomUUID(), payload: {}, runAt: T0 }],
          },
          at(SECOND),
        );
        await expect(broken).rejects.toBeInstanceOf(Problem);
        expect(await store.getSubmission(submission.id)).toMatchObject({ status: 'accepted' });
        expect(await store.timeline(submission.id)).toHaveLength(1);
        expect(await store.complete(job, { status: 'delivered' }, at(2 * SECOND))).toBe(true);
      });

      it.each([
        ['waiting for the disk', undefined],
        ['not waiting for the disk', { waitForDisk: false }],
      ])(
        'completeAll (%s) completes a batch with the effects of each job, and answers false, changing nothing, for a job whose lease had passed',
        async (_, options) => {
          const first = await created();
          const second = await created();
          const third = await created();
          const one = async (leaseMs: number) =>
            only(await store.claim('ehr-delivery', 'worker-1', { now: T0, leaseMs, limit: 1 }));
          const a = await one(10 * MINUTE);
          const b = await one(30 * SECOND);
          const c = await one(10 * MINUTE);
          // b's lease expires and another worker takes it: worker-1's copy is stale.
          const taken = await claimOne('ehr-delivery', 'worker-2', at(MINUTE), 30 * SECOND);
          expect(taken.id).toBe(b.id);
          const entry = (message: string) => ({ timeline: [{ at: at(MINUTE), kind: 'note' as const, message }] });
          const done = await store.completeAll(
            [
              { job: a, effects: { status: 'delivered', ...entry('first') } },
              { job: b, effects: { status: 'delivered', ...entry('second') } },
              { job: c, effects: { status: 'failed', ...entry('third') } },
            ],
            at(MINUTE),
            options,
          );
          expect(done).toEqual([true, false, true]);
          expect(await store.getSubmission(a.submissionId)).toMatchObject({ status: 'delivered' });
          expect(await store.getSubmission(b.submissionId)).toMatchObject({ status: 'accepted' });
          expect(await store.getSubmission(c.submissionId)).toMatchObject({ status: 'failed' });
          expect((await store.timeline(b.submissionId)).map((line) => line.message)).not.toContain('second');
          expect((await store.timeline(c.submissionId)).map((line) => line.message)).toContain('third');
          expect([first.id, second.id, third.id].sort()).toEqual([a, b, c].map((job) => job.submissionId).sort());
          // The current holder of b still completes it; the others are done.
          expect(await store.complete(taken, {}, at(MINUTE))).toBe(true);
          expect(await store.claim('ehr-delivery', 'w', { now: at(HOUR), leaseMs: MINUTE, limit: 10 })).toEqual([]);
          expect(await store.completeAll([], at(HOUR))).toEqual([]);
        },
      );

      it.each([
        ['waiting for the disk', undefined],
        ['not waiting for the disk', { waitForDisk: false }],
      ])(
        'completeAll of a batch with timeline entries only (%s) writes them, in order, for exactly the jobs it completed',
        async (_, options) => {
          await created();
          await created();
          const a = only(await store.claim('ehr-delivery', 'worker-1', { now: T0, leaseMs: 10 * MINUTE, limit: 1 }));
          const b = only(await store.claim('ehr-delivery', 'worker-1', { now: T0, leaseMs: 30 * SECOND, limit: 1 }));
          // b's lease expires and another worker takes it: worker-1's copy is stale.
          expect((await claimOne('ehr-delivery', 'worker-2', at(MINUTE), 30 * SECOND)).id).toBe(b.id);
          const line = (message: string, detail?: Record<string, unknown>) => ({
            at: at(MINUTE),
            kind: 'event-published' as const,
            message,
            ...(detail === undefined ? {} : { detail }),
          });
          const done = await store.completeAll(
            [
              { job: a, effects: { timeline: [line('a one', { offset: '7' }), line('a two')] } },
              { job: b, effects: { timeline: [line('b one')] } },
            ],
            at(MINUTE),
            options,
          );
          expect(done).toEqual([true, false]);
          const lines = (await store.timeline(a.submissionId)).slice(1);
          expect(lines.map((entry) => [entry.message, entry.detail])).toEqual([
            ['a one', { offset: '7' }],
            ['a two', undefined],
          ]);
          expect((await store.timeline(b.submissionId)).map((entry) => entry.message)).not.toContain('b one');
          expect(await store.getSubmission(a.submissionId)).toMatchObject({ status: 'accepted' });
          // a is done; b is still there for its current holder (claimable again once that lease passed).
          const left = await store.claim('ehr-delivery', 'w', { now: at(HOUR), leaseMs: MINUTE, limit: 10 });
          expect(left.map((job) => job.id)).toEqual([b.id]);
        },
      );

      it("completeAll keeps each job's note on its row: the timeline shows it at the completion's time, after what was written at that instant, and never for a job it did not complete", async () => {
        await created();
        await created();
        await created();
        const one = async (leaseMs: number) =>
          only(await store.claim('ehr-delivery', 'worker-1', { now: T0, leaseMs, limit: 1 }));
        const a = await one(10 * MINUTE);
        const b = await one(30 * SECOND);
        const c = await one(10 * MINUTE);
        // b's lease expires and another worker takes it: worker-1's copy is stale.
        expect((await claimOne('ehr-delivery', 'worker-2', at(MINUTE), 30 * SECOND)).id).toBe(b.id);
        const published = { type: 'x', topic: 'events', partition: 2, offset: '7' };
        const done = await store.completeAll(
          [
            {
              job: a,
              effects: { timeline: [{ at: at(MINUTE), kind: 'note', message: 'written' }] },
              note: { kind: 'event-published', message: 'a noted', detail: published },
            },
            { job: b, effects: {}, note: { kind: 'event-published', message: 'b noted' } },
            { job: c, effects: {}, note: { kind: 'event-published', message: 'c noted' } },
          ],
          at(MINUTE),
          { waitForDisk: false },
        );
        expect(done).toEqual([true, false, true]);
        await store.appendTimeline(a.submissionId, [{ at: at(HOUR), kind: 'note', message: 'later' }]);
        expect((await store.timeline(a.submissionId)).slice(1)).toEqual([
          { at: at(MINUTE), kind: 'note', message: 'written' },
          { at: at(MINUTE), kind: 'event-published', message: 'a noted', detail: published },
          { at: at(HOUR), kind: 'note', message: 'later' },
        ]);
        expect((await store.timeline(b.submissionId)).map((entry) => entry.message)).not.toContain('b noted');
        expect((await store.timeline(c.submissionId)).slice(1)).toEqual([
          { at: at(MINUTE), kind: 'event-published', message: 'c noted' },
        ]);
      });

      it('completeAll is one transaction: effects that cannot be written undo the whole batch', async () => {
        const submission = await created();
        const other = await created();
        const [a, b] = await store.claim('ehr-delivery', 'worker-1', { now: T0, leaseMs: MINUTE, limit: 10 });
        if (a === undefined || b === undefined) throw new Error('expected two claimed jobs');
        const broken = store.completeAll(
          [
            { job: a, effects: { status: 'delivered' } },
            {
              job: b,
              effects: { enqueue: [{ queue: 'event-publish', submissionId: randomUUID(), payload: {}, runAt: T0 }] },
            },
          ],
          at(SECOND),
        );
        await expect(broken).rejects.toBeInstanceOf(Problem);
        expect(await store.getSubmission(submission.id)).toMatchObject({ status: 'accepted' });
        expect(await store.getSubmission(other.id)).toMatchObject({ status: 'accepted' });
        expect(
          await store.completeAll(
            [
              { job: a, effects: {} },
              { job: b, effects: {} },
            ],
            at(2 * SECOND),
          ),
        ).toEqual([true, true]);
      });

      it('a stale holder (lease expired and reclaimed by another) gets false from complete, retryLater and fail, and changes nothing', async () => {
        const submission = await created();
        const stale = await claimOne('ehr-delivery', 'worker-1', T0, 30 * SECOND);
        const current = await claimOne('ehr-delivery', 'worker-2', at(MINUTE), 30 * SECOND);
        const effects = {
          status: 'delivered',
          ehrReferences: ['Procedure/1'],
          timeline: [{ at: at(MINUTE), kind: 'delivered', message: 'Delivered.' }],
          enqueue: [{ queue: 'event-publish', submissionId: submission.id, payload: {}, runAt: T0 }],
        } as const;

        expect(await store.complete(stale, effects, at(MINUTE))).toBe(false);
        expect(await store.retryLater(stale, at(HOUR), effects, at(MINUTE))).toBe(false);
        expect(await store.fail(stale, { ...effects, status: 'failed' }, at(MINUTE))).toBe(false);

        expect(await store.getSubmission(submission.id)).toMatchObject({ status: 'accepted', ehrReferences: [] });
        expect(await store.timeline(submission.id)).toHaveLength(1);
        expect((await store.backlog(at(MINUTE)))['event-publish'].count).toBe(0);
        expect(await store.complete(current, effects, at(MINUTE))).toBe(true);
      });

      it('the same owner claiming again after its lease expired fences out its own earlier claim', async () => {
        await created();
        const earlier = await claimOne('ehr-delivery', 'worker-1', T0, 30 * SECOND);
        const later = await claimOne('ehr-delivery', 'worker-1', at(MINUTE), 30 * SECOND);
        expect(await store.complete(earlier, {}, at(MINUTE))).toBe(false);
        expect(await store.complete(later, {}, at(MINUTE))).toBe(true);
      });

      it('a holder whose lease expired but was not taken may still finish', async () => {
        await created();
        const job = await claimOne('ehr-delivery', 'worker-1', T0, 30 * SECOND);
        expect(await store.complete(job, { status: 'delivered' }, at(HOUR))).toBe(true);
      });

      it('a finished job cannot be finished again', async () => {
        await created();
        const job = await claimOne();
        expect(await store.complete(job, {}, at(SECOND))).toBe(true);
        expect(await store.complete(job, {}, at(SECOND))).toBe(false);
        expect(await store.fail(job, {}, at(SECOND))).toBe(false);
        expect(await store.retryLater(job, at(MINUTE), {}, at(SECOND))).toBe(false);
      });

      it('retryLater moves run_at and releases the lease: not claimable before run_at, then claimed with attempts + 1', async () => {
        const submission = await created();
        const job = await claimOne();
        const ok = await store.retryLater(
          job,
          at(10 * MINUTE),
          {
            timeline: [{ at: at(SECOND), kind: 'ehr-attempt', message: 'EHR answered 503.', detail: { status: 503 } }],
          },
          at(SECOND),
        );
        expect(ok).toBe(true);
        expect(await store.timeline(submission.id)).toHaveLength(2);
        expect(
          await store.claim('ehr-delivery', 'w', { now: at(10 * MINUTE - 1), leaseMs: MINUTE, limit: 10 }),
        ).toEqual([]);
        const again = await claimOne('ehr-delivery', 'worker-2', at(10 * MINUTE));
        expect(again).toMatchObject({ id: job.id, attempts: 2, runAt: at(10 * MINUTE), leaseOwner: 'worker-2' });
        expect(await store.complete(job, {}, at(10 * MINUTE))).toBe(false);
      });

      it('fail finishes the job and applies its effects (failed status, the reason in the timeline)', async () => {
        const submission = await created();
        const job = await claimOne();
        const reason = { status: 422, operationOutcome: 'Patient not found: identifier 123' };
        const ok = await store.fail(
          job,
          {
            status: 'failed',
            timeline: [{ at: at(SECOND), kind: 'failed', message: 'The EHR refused it.', detail: reason }],
          },
          at(SECOND),
        );
        expect(ok).toBe(true);
        expect(await store.getSubmission(submission.id)).toMatchObject({ status: 'failed', updatedAt: at(SECOND) });
        expect((await store.timeline(submission.id)).at(-1)).toEqual({
          at: at(SECOND),
          kind: 'failed',
          message: 'The EHR refused it.',
          detail: reason,
        });
        expect(await store.claim('ehr-delivery', 'w', { now: at(HOUR), leaseMs: MINUTE, limit: 10 })).toEqual([]);
      });
    });

    describe('reapExpiredLeases', () => {
      it('frees expired leases only', async () => {
        await created();
        await created();
        await created();
        const expiring = only(await store.claim('ehr-delivery', 'short', { now: T0, leaseMs: 10 * SECOND, limit: 1 }));
        const living = only(await store.claim('ehr-delivery', 'long', { now: T0, leaseMs: HOUR, limit: 1 }));

        expect(await store.reapExpiredLeases(at(10 * SECOND))).toBe(1);
        expect(await store.reapExpiredLeases(at(10 * SECOND))).toBe(0);
        expect(await store.complete(expiring, {}, at(11 * SECOND))).toBe(false);
        expect(await store.complete(living, {}, at(11 * SECOND))).toBe(true);
        const free = await store.claim('ehr-delivery', 'w', { now: at(11 * SECOND), leaseMs: MINUTE, limit: 10 });
        expect(free.map((job) => job.id).sort()).toContain(expiring.id);
        expect(free).toHaveLength(2);
      });
    });

    describe('replay', () => {
      async function failedSubmission(): Promise<Submission> {
        const submission = await created({}, deliveryJob({ mapping: 'hit-session', version: 3 }));
        const job = await claimOne();
        expect(await store.fail(job, { status: 'failed' }, at(SECOND))).toBe(true);
        return submission;
      }

      it('re-queues a failed submission: status accepted, a new delivery job with the same payload, a replayed entry', async () => {
        const submission = await failedSubmission();
        expect(await store.replay(submission.id, at(HOUR))).toBe(true);
        expect(await store.getSubmission(submission.id)).toMatchObject({ status: 'accepted', updatedAt: at(HOUR) });
        expect((await store.timeline(submission.id)).at(-1)).toMatchObject({ at: at(HOUR), kind: 'replayed' });
        expect(await store.claim('ehr-delivery', 'w', { now: at(HOUR - 1), leaseMs: MINUTE, limit: 10 })).toEqual([]);
        const job = await claimOne('ehr-delivery', 'w', at(HOUR));
        expect(job).toMatchObject({
          submissionId: submission.id,
          attempts: 1,
          payload: { mapping: 'hit-session', version: 3 },
        });
      });

      it('does nothing for a submission that is not failed, or unknown', async () => {
        const accepted = await created();
        expect(await store.replay(accepted.id, at(HOUR))).toBe(false);
        expect(await store.replay(randomUUID(), at(HOUR))).toBe(false);
        expect((await store.backlog(at(HOUR)))['ehr-delivery'].count).toBe(1);
        expect(await store.timeline(accepted.id)).toHaveLength(1);
      });

      it('concurrent replays of one failed submission queue exactly one job', async () => {
        const submission = await failedSubmission();
        const other = await subject.reopen();
        const answers = await Promise.all([
          ...Array.from({ length: 5 }, () => store.replay(submission.id, at(HOUR))),
          ...Array.from({ length: 5 }, () => other.replay(submission.id, at(HOUR))),
        ]);
        expect(answers.filter(Boolean)).toHaveLength(1);
        expect((await store.backlog(at(HOUR)))['ehr-delivery'].count).toBe(1);
      });
    });

    describe('timeline', () => {
      it('appendTimeline adds entries, read back in time order with their details', async () => {
        const submission = await created();
        await store.appendTimeline(submission.id, [
          { at: at(2 * SECOND), kind: 'note', message: 'Second.' },
          { at: at(SECOND), kind: 'ehr-attempt', message: 'First.', detail: { status: 503, retryAfterS: 30 } },
        ]);
        expect(await store.timeline(submission.id)).toEqual([
          expect.objectContaining({ at: T0, kind: 'accepted' }),
          { at: at(SECOND), kind: 'ehr-attempt', message: 'First.', detail: { status: 503, retryAfterS: 30 } },
          { at: at(2 * SECOND), kind: 'note', message: 'Second.' },
        ]);
      });

      it('appendTimeline for an unknown submission is a not-found problem', async () => {
        const attempt = store.appendTimeline(randomUUID(), [{ at: T0, kind: 'note', message: 'Lost.' }]);
        await expect(attempt).rejects.toMatchObject({ status: 404 });
      });

      it('the timeline of an unknown submission is empty', async () => {
        expect(await store.timeline(randomUUID())).toEqual([]);
      });
    });

    describe('backlog', () => {
      it('counts unfinished jobs per queue (waiting, held or retrying) and the age of the oldest', async () => {
        expect(await store.backlog(T0)).toEqual({
          'ehr-delivery': { count: 0, oldestAgeMs: 0 },
          'event-publish': { count: 0, oldestAgeMs: 0 },
          handover: { count: 0, oldestAgeMs: 0 },
          'handover-receipt': { count: 0, oldestAgeMs: 0 },
          'handover-task': { count: 0, oldestAgeMs: 0 },
        });
        await created({ acceptedAt: at(-10 * MINUTE) });
        await created({ acceptedAt: at(-5 * MINUTE) });
        await created({ acceptedAt: at(-MINUTE) });
        await created({ acceptedAt: at(-2 * MINUTE) }, { queue: 'event-publish', payload: {}, runAt: T0 });

        const [oldest, middle] = await store.claim('ehr-delivery', 'w', { now: T0, leaseMs: MINUTE, limit: 2 });
        if (!oldest || !middle) throw new Error('expected two jobs');
        expect(await store.complete(oldest, {}, T0)).toBe(true);
        expect(await store.retryLater(middle, at(HOUR), {}, T0)).toBe(true);

        expect(await store.backlog(T0)).toEqual({
          'ehr-delivery': { count: 2, oldestAgeMs: 5 * MINUTE },
          'event-publish': { count: 1, oldestAgeMs: 2 * MINUTE },
          handover: { count: 0, oldestAgeMs: 0 },
          'handover-receipt': { count: 0, oldestAgeMs: 0 },
          'handover-task': { count: 0, oldestAgeMs: 0 },
        });
      });
    });

    describe('event log', () => {
      const record = (topic: string, n: number) => ({
        topic,
        key: `pk-${n % 3}`,
        value: JSON.stringify({ id: `event-${n}`, n }),
        headers: { 'content-type': 'application/cloudevents+json', n: String(n) },
      });

      it('append gives offsets per topic from 0, gap-free and in order; read pages through them', async () => {
        expect(await store.log.append([record('a', 0), record('a', 1), record('b', 2), record('a', 3)], T0)).toEqual([
          0, 1, 0, 2,
        ]);
        expect(await store.log.append([record('b', 4), record('a', 5)], at(SECOND))).toEqual([1, 3]);
        expect(await store.log.append([], at(SECOND))).toEqual([]);

        const all = await store.log.read('a', 0, 100);
        expect(all.map((stored) => stored.offset)).toEqual([0, 1, 2, 3]);
        expect(all[3]).toEqual({ ...record('a', 5), offset: 3, appendedAt: at(SECOND) });
        expect((await store.log.read('a', 1, 2)).map((stored) => stored.value)).toEqual([
          record('a', 1).value,
          record('a', 3).value,
        ]);
        expect(await store.log.read('a', 4, 10)).toEqual([]);
        expect(await store.log.read('unknown', 0, 10)).toEqual([]);
      });

      it('concurrent appenders to one topic get distinct, gap-free offsets', async () => {
        const other = await subject.reopen();
        const batches = await Promise.all(
          Array.from({ length: 10 }, (_, batch) =>
            (batch % 2 === 0 ? store : other).log.append(
              Array.from({ length: 10 }, (_, n) => record(n % 4 === 0 ? 'side' : 'main', batch * 10 + n)),
              T0,
            ),
          ),
        );
        expect(batches.every((offsets) => offsets.length === 10)).toBe(true);
        const main = await store.log.read('main', 0, 1_000);
        const side = await store.log.read('side', 0, 1_000);
        expect(main.map((stored) => stored.offset)).toEqual(Array.from({ length: 70 }, (_, index) => index));
        expect(side.map((stored) => stored.offset)).toEqual(Array.from({ length: 30 }, (_, index) => index));
        // Within one append, a topic's records keep their order.
        for (const offsets of batches) {
          const mainOffsets = offsets.filter((_, n) => n % 4 !== 0);
          expect(mainOffsets).toEqual([...mainOffsets].sort((x, y) => x - y));
        }
      });

      it('committedOffset is 0 until a group commits, then what it committed, per group and topic', async () => {
        expect(await store.log.committedOffset('handover', 'discharges')).toBe(0);
        await store.log.commitOffset('handover', 'discharges', 5);
        await store.log.commitOffset('handover', 'discharges', 7);
        await store.log.commitOffset('audit', 'discharges', 2);
        expect(await store.log.committedOffset('handover', 'discharges')).toBe(7);
        expect(await store.log.committedOffset('audit', 'discharges')).toBe(2);
        expect(await store.log.committedOffset('handover', 'sessions')).toBe(0);
      });
    });

    describe('handovers', () => {
      const handoverJob = (submissionId: string): NewJob => ({
        queue: 'handover',
        submissionId,
        payload: {},
        runAt: T0,
      });
      const started = { at: T0, kind: 'handover-started' as const, message: 'Handover started.' };

      async function discharge(): Promise<Submission> {
        return created(
          { kind: 'discharges', inputId: `discharge-${randomUUID()}` },
          { ...deliveryJob(), queue: 'event-publish' },
        );
      }

      /** Packets out, with the referral Task unless `withTask` is false (no consent for the Frisklivssentral). */
      async function sent(submission: Submission, sentAt = T0, withTask = true): Promise<void> {
        await store.beginHandover(submission.id, { enqueue: [handoverJob(submission.id)] }, T0);
        const job = await claimOne('handover', 'w', sentAt);
        const handover = { packetsSentAt: sentAt, taskReference: withTask ? 'Task/77' : undefined };
        expect(await store.complete(job, { handover }, sentAt)).toBe(true);
      }

      it('begins a handover once: a second begin (a redelivered discharge event) adds no job and no entry', async () => {
        const submission = await discharge();
        expect(
          await store.beginHandover(submission.id, { enqueue: [handoverJob(submission.id)], timeline: [started] }, T0),
        ).toBe(true);
        expect(
          await store.beginHandover(submission.id, { enqueue: [handoverJob(submission.id)], timeline: [started] }, T0),
        ).toBe(false);
        expect((await store.backlog(T0)).handover.count).toBe(1);
        expect((await store.timeline(submission.id)).filter((e) => e.kind === 'handover-started')).toHaveLength(1);
        expect(await store.getHandover(submission.id)).toEqual({
          submissionId: submission.id,
          startedAt: T0,
          packetsSentAt: undefined,
          taskReference: undefined,
          acknowledgement: undefined,
          overdueAt: undefined,
        });
      });

      it('refuses to begin a handover for a submission it does not have', async () => {
        await expect(store.beginHandover(randomUUID(), {}, T0)).rejects.toMatchObject({ status: 404 });
      });

      it('records packets sent and the Task when the handover job completes', async () => {
        const submission = await discharge();
        await sent(submission, at(MINUTE));
        expect(await store.getHandover(submission.id)).toMatchObject({
          packetsSentAt: at(MINUTE),
          taskReference: 'Task/77',
        });
      });

      it('takes an acknowledgement only once the packets were sent, with its job and entry', async () => {
        const submission = await discharge();
        await store.beginHandover(submission.id, { enqueue: [handoverJob(submission.id)] }, T0);
        const ack = { status: 'accepted' as const, at: at(HOUR) };
        const effects = {
          timeline: [{ at: at(HOUR), kind: 'acknowledged' as const, message: 'Accepted.' }],
          enqueue: [
            {
              queue: 'handover-task' as const,
              submissionId: submission.id,
              payload: { status: 'accepted' },
              runAt: at(HOUR),
            },
          ],
        };
        expect(await store.acknowledgeHandover(submission.id, ack, effects, at(HOUR))).toBe(false);
        expect(await store.acknowledgeHandover(randomUUID(), ack, effects, at(HOUR))).toBe(false);

        const job = await claimOne('handover', 'w', T0);
        await store.complete(job, { handover: { packetsSentAt: T0, taskReference: 'Task/77' } }, T0);
        expect(await store.acknowledgeHandover(submission.id, ack, effects, at(HOUR))).toBe(true);
        expect((await store.getHandover(submission.id))?.acknowledgement).toEqual(ack);
        expect((await store.backlog(at(HOUR)))['handover-task'].count).toBe(1);
        expect((await store.timeline(submission.id)).map((e) => e.kind)).toContain('acknowledged');
      });

      it('lists unanswered handovers sent before a time, and marks each overdue only once', async () => {
        const old = await discharge();
        const recent = await discharge();
        const answered = await discharge();
        await sent(old, T0);
        await sent(recent, at(2 * HOUR));
        await sent(answered, T0);
        await store.acknowledgeHandover(answered.id, { status: 'rejected', at: at(MINUTE) }, {}, at(MINUTE));

        const due = await store.overdueHandovers(at(HOUR), 10);
        expect(due.map((h) => h.submissionId)).toEqual([old.id]);

        const overdueEvent = {
          queue: 'event-publish' as const,
          submissionId: old.id,
          payload: { type: 'x' },
          runAt: at(HOUR),
        };
        expect(await store.markHandoverOverdue(old.id, { enqueue: [overdueEvent] }, at(HOUR))).toBe(true);
        expect(await store.markHandoverOverdue(old.id, { enqueue: [overdueEvent] }, at(HOUR))).toBe(false);
        expect(await store.markHandoverOverdue(answered.id, { enqueue: [overdueEvent] }, at(HOUR))).toBe(false);
        expect((await store.backlog(at(HOUR)))['event-publish'].count).toBe(4);
        expect((await store.getHandover(old.id))?.overdueAt).toEqual(at(HOUR));
        expect(await store.overdueHandovers(at(3 * HOUR), 10)).toEqual([
          expect.objectContaining({ submissionId: recent.id }),
        ]);
      });

      it('counts handovers awaiting the answer: sent with a Task and unanswered, overdue ones included', async () => {
        expect(await store.handoversAwaitingAcknowledgement()).toBe(0);
        const gaveUp = await discharge();
        await store.beginHandover(gaveUp.id, { enqueue: [handoverJob(gaveUp.id)] }, T0);
        // Still gathering the facts: nothing sent yet.
        expect(await store.handoversAwaitingAcknowledgement()).toBe(0);
        expect(await store.fail(await claimOne('handover', 'w', T0), { status: 'failed' }, T0)).toBe(true);
        // Failed for good: it sent nothing, so nobody owes it an answer.
        expect(await store.handoversAwaitingAcknowledgement()).toBe(0);

        const waiting = await discharge();
        const overdue = await discharge();
        const withoutTask = await discharge();
        const accepted = await discharge();
        const inProgress = await discharge();
        await sent(waiting, at(2 * HOUR));
        await sent(overdue, T0);
        // No consent for the Frisklivssentral: only the training contact's packet, no Task to answer.
        await sent(withoutTask, T0, false);
        await sent(accepted, T0);
        await sent(inProgress, T0);
        expect(await store.handoversAwaitingAcknowledgement()).toBe(4);

        expect(await store.markHandoverOverdue(overdue.id, {}, at(HOUR))).toBe(true);
        expect(await store.handoversAwaitingAcknowledgement()).toBe(4);
        await store.acknowledgeHandover(accepted.id, { status: 'accepted', at: at(MINUTE) }, {}, at(MINUTE));
        // Any answer counts as one, a status on the way as much as a final one.
        await store.acknowledgeHandover(inProgress.id, { status: 'in-progress', at: at(MINUTE) }, {}, at(MINUTE));
        expect(await store.handoversAwaitingAcknowledgement()).toBe(2);
        await store.acknowledgeHandover(overdue.id, { status: 'rejected', at: at(3 * HOUR) }, {}, at(3 * HOUR));
        expect(await store.handoversAwaitingAcknowledgement()).toBe(1);

        // Every replica reads the same number from the shared store.
        expect(await (await subject.reopen()).handoversAwaitingAcknowledgement()).toBe(1);
      });
    });

    describe('audit log', () => {
      const entry = (overrides: Partial<AuditEntry> = {}): AuditEntry => ({
        at: T0,
        clientId: 'clinic-a-system',
        method: 'POST',
        route: '/v1/hit-sessions',
        status: 202,
        submissionId: randomUUID(),
        requestId: randomUUID(),
        ...overrides,
      });

      it('keeps each entry as written, in order, with increasing seq', async () => {
        const first = entry();
        const refused = entry({ at: at(SECOND), status: 401, clientId: 'anonymous', submissionId: undefined });
        await store.recordAudit(first);
        await store.recordAudit(refused);
        const trail = await store.auditTrail({ limit: 10 });
        expect(trail).toEqual([
          { ...first, seq: expect.any(Number) as number },
          {
            seq: expect.any(Number) as number,
            at: at(SECOND),
            clientId: 'anonymous',
            method: 'POST',
            route: '/v1/hit-sessions',
            status: 401,
            requestId: refused.requestId,
          },
        ]);
        expect(trail[1]?.seq).toBeGreaterThan(trail[0]?.seq ?? Infinity);
      });

      it('reads by time, by submission, and page after page', async () => {
        const submissionId = randomUUID();
        await store.recordAudit(entry({ at: T0 }));
        await store.recordAudit(
          entry({ at: at(MINUTE), submissionId, method: 'GET', route: '/v1/submissions/:id', status: 200 }),
        );
        await store.recordAudit(entry({ at: at(HOUR), submissionId }));
        await store.recordAudit(entry({ at: at(2 * HOUR) }));

        expect((await store.auditTrail({ since: at(HOUR), limit: 10 })).map((e) => e.at)).toEqual([
          at(HOUR),
          at(2 * HOUR),
        ]);
        expect((await store.auditTrail({ submissionId, limit: 10 })).map((e) => e.at)).toEqual([at(MINUTE), at(HOUR)]);
        expect((await store.auditTrail({ submissionId, since: at(HOUR), limit: 10 })).map((e) => e.at)).toEqual([
          at(HOUR),
        ]);
        const page1 = await store.auditTrail({ limit: 3 });
        const page2 = await store.auditTrail({ limit: 3, afterSeq: page1.at(-1)?.seq });
        expect([...page1, ...page2].map((e) => e.at)).toEqual([T0, at(MINUTE), at(HOUR), at(2 * HOUR)]);
        expect(page2).toHaveLength(1);
      });

      it('refuses to change or remove an entry, even by SQL behind the port', async () => {
        await store.recordAudit(entry({ clientId: 'original-client' }));
        await expect(subject.tamper(`update audit_log set client_id = 'forged'`)).rejects.toThrow(/append-only/);
        await expect(subject.tamper('delete from audit_log')).rejects.toThrow(/append-only/);
        const trail = await store.auditTrail({ limit: 10 });
        expect(trail.map((e) => e.clientId)).toEqual(['original-client']);
        // Appending still works after a refused change.
        await store.recordAudit(entry());
        expect(await store.auditTrail({ limit: 10 })).toHaveLength(2);
      });

      it('has no operation in the port that changes or removes an entry', () => {
        const auditMethods = Object.keys(store).filter((key) => /audit/i.test(key));
        expect(auditMethods.sort()).toEqual(['auditTrail', 'recordAudit']);
      });
    });

    describe('retention (erasePersonalData)', () => {
      const DAY = 24 * HOUR;
      const rule = (deliveredBefore: Date, failedBefore = new Date(0), limit = 100) => ({
        deliveredBefore,
        failedBefore,
        limit,
      });

      /** Delivered at `when`, its event published too unless `publish` is false. */
      async function delivered(when: Date, publish = true): Promise<Submission> {
        const submission = await created();
        const job = only(
          await store
            .claim('ehr-delivery', 'w', { now: when, leaseMs: MINUTE, limit: 10 })
            .then((jobs) => jobs.filter((j) => j.submissionId === submission.id)),
        );
        await store.complete(
          job,
          {
            status: 'delivered',
            ehrReferences: ['Procedure/17/_history/1'],
            timeline: [{ at: when, kind: 'delivered', message: 'Delivered to the EHR.' }],
            enqueue: [
              { queue: 'event-publish', submissionId: submission.id, payload: { type: 'recorded' }, runAt: when },
            ],
          },
          when,
        );
        if (publish) {
          const event = only(await store.claim('event-publish', 'relay', { now: when, leaseMs: MINUTE, limit: 10 }));
          await store.complete(
            event,
            { timeline: [{ at: when, kind: 'event-published', message: 'Published.' }] },
            when,
          );
        }
        return submission;
      }

      async function failed(when: Date): Promise<Submission> {
        const submission = await created();
        const job = await claimOne('ehr-delivery', 'w', when);
        await store.fail(
          job,
          { status: 'failed', timeline: [{ at: when, kind: 'failed', message: 'Refused.' }] },
          when,
        );
        return submission;
      }

      it('erases the body of a submission delivered before the cutoff, keeping status, timeline, references and hash', async () => {
        const submission = await delivered(at(HOUR));
        const erasedAt = at(31 * DAY);
        expect(await store.erasePersonalData(rule(at(30 * DAY)), erasedAt)).toEqual([submission.id]);

        const after = await store.getSubmission(submission.id);
        expect(after).toMatchObject({
          status: 'delivered',
          ehrReferences: ['Procedure/17/_history/1'],
          bodyHash: submission.bodyHash,
          patientKey: submission.patientKey,
          inputId: submission.inputId,
          body: null,
          bodyErasedAt: erasedAt,
        });
        expect((await store.timeline(submission.id)).map((e) => e.kind)).toEqual([
          'accepted',
          'delivered',
          'event-published',
          'erased',
        ]);
        expect((await store.timeline(submission.id)).at(-1)).toMatchObject({ at: erasedAt, kind: 'erased' });
      });

      it("erases the payloads of the submission's finished jobs too (a handover packet event holds names and phones)", async () => {
        const submission = await delivered(at(HOUR));
        const payloads = () =>
          subject.peek(`select payload from jobs where submission_id = '${submission.id}' order by created_at`);
        expect((await payloads()).map((row) => row.payload)).not.toContainEqual(null);
        await store.erasePersonalData(rule(at(30 * DAY)), at(31 * DAY));
        const after = (await payloads()).map((row) =>
          typeof row.payload === 'string' ? (JSON.parse(row.payload) as unknown) : row.payload,
        );
        expect(after).toEqual([null, null]);
      });

      it('is idempotent: a second sweep erases nothing and writes no second entry', async () => {
        const submission = await delivered(at(HOUR));
        await store.erasePersonalData(rule(at(30 * DAY)), at(31 * DAY));
        expect(await store.erasePersonalData(rule(at(40 * DAY)), at(41 * DAY))).toEqual([]);
        expect((await store.timeline(submission.id)).filter((e) => e.kind === 'erased')).toHaveLength(1);
        expect((await store.getSubmission(submission.id))?.bodyErasedAt).toEqual(at(31 * DAY));
      });

      it('keeps the body of a submission delivered after the cutoff', async () => {
        const submission = await delivered(at(10 * DAY));
        expect(await store.erasePersonalData(rule(at(10 * DAY - SECOND)), at(40 * DAY))).toEqual([]);
        expect((await store.getSubmission(submission.id))?.body).toEqual(submission.body);
      });

      it('waits for the last job: delivered to the EHR but its event not yet published is not final', async () => {
        const submission = await delivered(at(HOUR), false);
        expect(await store.erasePersonalData(rule(at(30 * DAY)), at(31 * DAY))).toEqual([]);
        const event = only(
          await store.claim('event-publish', 'relay', { now: at(32 * DAY), leaseMs: MINUTE, limit: 10 }),
        );
        await store.complete(event, {}, at(32 * DAY));
        expect(await store.erasePersonalData(rule(at(30 * DAY)), at(33 * DAY))).toEqual([submission.id]);
      });

      it('never erases a submission still in flight, however old', async () => {
        const submission = await created();
        expect(await store.erasePersonalData(rule(at(365 * DAY), at(365 * DAY)), at(366 * DAY))).toEqual([]);
        expect((await store.getSubmission(submission.id))?.body).toEqual(submission.body);
      });

      it('keeps a failed submission until its own, longer cutoff, then erases it and refuses to replay it', async () => {
        const submission = await failed(at(HOUR));
        expect(await store.erasePersonalData(rule(at(30 * DAY), at(0)), at(31 * DAY))).toEqual([]);
        expect(await store.erasePersonalData(rule(at(90 * DAY), at(90 * DAY)), at(91 * DAY))).toEqual([submission.id]);
        expect(await store.replay(submission.id, at(92 * DAY))).toBe(false);
        expect(await store.getSubmission(submission.id)).toMatchObject({ status: 'failed', body: null });
        expect((await store.backlog(at(92 * DAY)))['ehr-delivery'].count).toBe(0);
      });

      it('still recognises the same content sent again after erasure (the hash is kept), and a conflict for other content', async () => {
        const submission = await delivered(at(HOUR));
        await store.erasePersonalData(rule(at(30 * DAY)), at(31 * DAY));
        const again = await store.accept(
          newSubmission({ inputId: submission.inputId, bodyHash: submission.bodyHash, acceptedAt: at(32 * DAY) }),
          deliveryJob(),
        );
        expect(again).toMatchObject({ outcome: 'existing', submission: { id: submission.id, body: null } });
        const other = await store.accept(
          newSubmission({ inputId: submission.inputId, bodyHash: 'b'.repeat(64), acceptedAt: at(32 * DAY) }),
          deliveryJob(),
        );
        expect(other.outcome).toBe('conflict');
      });

      it('erases at most `limit` per call, oldest first', async () => {
        const oldest = await delivered(at(HOUR));
        const middle = await delivered(at(2 * HOUR));
        const newest = await delivered(at(3 * HOUR));
        expect(await store.erasePersonalData(rule(at(DAY), at(0), 2), at(2 * DAY))).toEqual(
          expect.arrayContaining([oldest.id, middle.id]),
        );
        expect(await store.erasePersonalData(rule(at(DAY), at(0), 2), at(2 * DAY))).toEqual([newest.id]);
      });

      it('several replicas sweeping at once erase each submission exactly once', async () => {
        const submissions = [];
        for (let i = 0; i < 12; i += 1) submissions.push(await delivered(at(HOUR + i * SECOND)));
        const replicas = [store, await subject.reopen(), await subject.reopen()];
        await Promise.all(replicas.slice(1).map((replica) => replica.migrate()));
        const sweeps = await Promise.all(
          replicas.flatMap((replica) =>
            [0, 1].map(() => replica.erasePersonalData(rule(at(30 * DAY), at(0), 5), at(31 * DAY))),
          ),
        );
        let erased = sweeps.flat();
        // Whatever a contended sweep skipped, a later one takes.
        erased = [...erased, ...(await store.erasePersonalData(rule(at(30 * DAY), at(0), 100), at(31 * DAY)))];
        expect(erased.sort()).toEqual(submissions.map((s) => s.id).sort());
        for (const submission of submissions) {
          expect((await store.timeline(submission.id)).filter((e) => e.kind === 'erased')).toHaveLength(1);
        }
      });
    });

    describe('migrate and reopen', () => {
      it('migrate twice is a no-op that keeps the data', async () => {
        const submission = await created();
        await store.migrate();
        expect(await store.getSubmission(submission.id)).toEqual(submission);
        expect(await store.timeline(submission.id)).toHaveLength(1);
      });

      it("a second store on the same database sees the first one's data", async () => {
        const submission = await created();
        await store.log.append([{ topic: 't', key: 'k', value: 'v', headers: {} }], T0);
        await store.log.commitOffset('g', 't', 1);

        const second = await subject.reopen();
        await second.migrate();
        expect(await second.getSubmission(submission.id)).toEqual(submission);
        expect(await second.timeline(submission.id)).toHaveLength(1);
        expect(await second.log.read('t', 0, 10)).toHaveLength(1);
        expect(await second.log.committedOffset('g', 't')).toBe(1);
        expect((await second.claim('ehr-delivery', 'w', { now: T0, leaseMs: MINUTE, limit: 10 })).length).toBe(1);
      });

      it('two stores migrating a fresh database at once both succeed', async () => {
        const fresh = await makeStore();
        try {
          const second = await fresh.reopen();
          await Promise.all([fresh.store.migrate(), second.migrate(), fresh.store.migrate()]);
          const outcome = await second.accept(newSubmission(), deliveryJob());
          expect(outcome.outcome).toBe('created');
        } finally {
          await fresh.cleanup();
        }
      });

      it('ping answers', async () => {
        await expect(store.ping()).resolves.toBeUndefined();
      });
    });
  });
}
