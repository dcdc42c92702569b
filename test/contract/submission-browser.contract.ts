/**
 * The message browser and bulk replay part of the Store contract, against each adapter
 * (store.test.ts): 300 submissions of mixed kind, source, patient, time and status — accepted,
 * delivered, failed for each reason — listed through every filter page by page, with new ones
 * arriving while paging; the summary counted; failed ones replayed in bulk, bounded.
 */
import { randomUUID } from 'node:crypto';
import type {
  FailureReason,
  Store,
  SubmissionFilter,
  SubmissionListItem,
  SubmissionStatus,
} from '../../src/store/store.ts';
import type { SubmissionKind } from '../../src/kinds/kinds.ts';
import type { StoreUnderTest } from './store.contract.ts';

const T0 = new Date('2026-03-02T08:00:00.000Z');
const at = (ms: number): Date => new Date(T0.getTime() + ms);
const MINUTE = 60_000;
const KINDS: readonly SubmissionKind[] = ['hit-sessions', 'fitness-tests', 'prescriptions', 'discharges'];
const SOURCES = ['clinic-a', 'clinic-b', 'clinic-c'];
/** Pseudonymous keys as the service makes them: 43 base64url characters. */
const PATIENT_KEYS = ['A', 'B', 'C', 'D', 'E'].map((letter) => letter.repeat(43));
const FAILURES: readonly { reason: FailureReason; httpStatus: number | null; message: string }[] = [
  {
    reason: 'ehr-refused',
    httpStatus: 404,
    message: 'The EHR refused the record: HAPI-1091: No resources match Patient?identifier',
  },
  {
    reason: 'ehr-refused',
    httpStatus: 422,
    message: 'The EHR refused the record: HAPI-0450 Failed to parse request body',
  },
  {
    reason: 'ehr-unreachable',
    httpStatus: null,
    message: 'The EHR could not be reached for 24 hours; last error: connect ECONNREFUSED',
  },
  {
    reason: 'prescription-missing',
    httpStatus: null,
    message: 'Prescription RX-1 did not reach the EHR within 24 hours',
  },
];

/** One submission as the test made it: what every listing and count is checked against. */
interface Made {
  readonly id: string;
  readonly kind: SubmissionKind;
  readonly source: string;
  readonly patientKey: string;
  readonly acceptedAt: Date;
  readonly status: SubmissionStatus;
  readonly failure?: (typeof FAILURES)[number];
}

/**
 * `count` submissions, varied by index: acceptance times in groups of three sharing one instant
 * (so the id must break ties), statuses in a fixed mix, failures cycling through the reasons.
 */
async function seed(store: Store, count: number, options: { source?: string; start?: number } = {}): Promise<Made[]> {
  const planned: Made[] = [];
  for (let i = 0; i < count; i += 1) {
    const status: SubmissionStatus = i % 5 === 0 || i % 5 === 3 ? 'failed' : i % 5 === 1 ? 'delivered' : 'accepted';
    const made: Made = {
      id: randomUUID(),
      kind: KINDS[i % KINDS.length] as SubmissionKind,
      source: options.source ?? (SOURCES[i % SOURCES.length] as string),
      patientKey: PATIENT_KEYS[i % PATIENT_KEYS.length] as string,
      acceptedAt: at(((options.start ?? 0) + Math.floor(i / 3)) * MINUTE),
      status,
      ...(status === 'failed' ? { failure: FAILURES[Math.floor(i / 5) % FAILURES.length] } : {}),
    };
    planned.push(made);
    const outcome = await store.accept(
      {
        id: made.id,
        kind: made.kind,
        source: made.source,
        inputId: `input-${made.id}`,
        bodyHash: 'b'.repeat(64),
        body: { n: i },
        patientKey: made.patientKey,
        acceptedAt: made.acceptedAt,
      },
      { queue: 'ehr-delivery', payload: null, runAt: made.acceptedAt },
    );
    expect(outcome.outcome).toBe('created');
  }
  const due = planned.filter((made) => made.status !== 'accepted');
  const jobs = await store.claim('ehr-delivery', 'seeder', {
    now: at(10_000 * MINUTE),
    leaseMs: MINUTE,
    limit: 100_000,
  });
  const byId = new Map(planned.map((made) => [made.id, made]));
  const finishing = at(10_000 * MINUTE);
  for (const job of jobs) {
    const made = byId.get(job.submissionId);
    if (made?.status === 'delivered') {
      expect(await store.complete(job, { status: 'delivered' }, finishing)).toBe(true);
    } else if (made?.failure !== undefined) {
      const detail = {
        reason: made.failure.reason,
        ...(made.failure.httpStatus === null ? {} : { httpStatus: made.failure.httpStatus }),
      };
      expect(
        await store.fail(
          job,
          { status: 'failed', timeline: [{ at: finishing, kind: 'failed', message: made.failure.message, detail }] },
          finishing,
        ),
      ).toBe(true);
    } else if (made !== undefined) {
      // Still on its way: let go of the claim, as a worker that will try again does.
      expect(await store.retryLater(job, finishing, {}, finishing)).toBe(true);
    }
  }
  expect(jobs.filter((job) => (byId.get(job.submissionId)?.status ?? 'accepted') !== 'accepted')).toHaveLength(
    due.length,
  );
  return planned;
}

function matches(made: Made, filter: SubmissionFilter): boolean {
  return (
    (filter.status === undefined || made.status === filter.status) &&
    (filter.kind === undefined || made.kind === filter.kind) &&
    (filter.source === undefined || made.source === filter.source) &&
    (filter.since === undefined || made.acceptedAt >= filter.since) &&
    (filter.until === undefined || made.acceptedAt < filter.until) &&
    (filter.patientKey === undefined || made.patientKey === filter.patientKey) &&
    (filter.failureReason === undefined || made.failure?.reason === filter.failureReason) &&
    (filter.ehrStatus === undefined || made.failure?.httpStatus === filter.ehrStatus) &&
    (filter.errorText === undefined ||
      (made.failure?.message.toLowerCase().includes(filter.errorText.toLowerCase()) ?? false))
  );
}

/** Newest first, ties by id descending: the order the port promises. */
function newestFirst(a: { acceptedAt: Date; id: string }, b: { acceptedAt: Date; id: string }): number {
  return b.acceptedAt.getTime() - a.acceptedAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/** Every page of a listing, following the cursor; `between` runs after each page (new arrivals). */
async function everyPage(
  store: Store,
  filter: SubmissionFilter,
  limit: number,
  between: (page: number) => Promise<void> = () => Promise.resolve(),
): Promise<SubmissionListItem[]> {
  const listed: SubmissionListItem[] = [];
  for (let page = 0; page < 1000; page += 1) {
    const last = listed.at(-1);
    const items = await store.listSubmissions(filter, {
      after: last === undefined ? undefined : { acceptedAt: last.acceptedAt, id: last.id },
      limit,
    });
    expect(items.length).toBeLessThanOrEqual(limit);
    listed.push(...items);
    if (items.length < limit) return listed;
    await between(page);
  }
  throw new Error('more than 1000 pages');
}

const FILTERS: readonly [string, SubmissionFilter][] = [
  ['none', {}],
  ['status accepted', { status: 'accepted' }],
  ['status delivered', { status: 'delivered' }],
  ['status failed', { status: 'failed' }],
  ...KINDS.map((kind): [string, SubmissionFilter] => [`kind ${kind}`, { kind }]),
  ['source', { source: 'clinic-b' }],
  ['since', { since: at(60 * MINUTE) }],
  ['until', { until: at(40 * MINUTE) }],
  ['since and until', { since: at(20 * MINUTE), until: at(33 * MINUTE) }],
  ['patientKey', { patientKey: PATIENT_KEYS[2] }],
  ['failureReason', { failureReason: 'ehr-unreachable' }],
  ['ehrStatus', { ehrStatus: 422 }],
  ['errorText, any case', { errorText: 'hapi-1091' }],
  ['several at once', { status: 'failed', kind: 'hit-sessions', since: at(10 * MINUTE), source: 'clinic-a' }],
];

export function describeSubmissionBrowserContract(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  describe(`Store contract, message browser: ${name}`, () => {
    let subject: StoreUnderTest;
    let store: Store;
    let made: Made[];

    beforeAll(async () => {
      subject = await makeStore();
      store = subject.store;
      await store.migrate();
      made = await seed(store, 300);
    }, 120_000);

    afterAll(async () => {
      await subject.cleanup();
    });

    it('the seed has every status and every failure reason (what the tests below rely on)', () => {
      expect(new Set(made.map((item) => item.status))).toEqual(new Set(['accepted', 'delivered', 'failed']));
      expect(new Set(made.flatMap((item) => (item.failure ? [item.failure.reason] : [])))).toEqual(
        new Set(['ehr-refused', 'ehr-unreachable', 'prescription-missing']),
      );
    });

    it('summarizes: counts by kind and status, failures by reason, the oldest still on its way', async () => {
      const summary = await store.summarizeSubmissions();
      const expected = new Map<string, number>();
      for (const item of made)
        expected.set(`${item.kind}/${item.status}`, (expected.get(`${item.kind}/${item.status}`) ?? 0) + 1);
      expect(new Map(summary.counts.map((row) => [`${row.kind}/${row.status}`, row.count]))).toEqual(expected);
      const reasons = new Map<string, number>();
      for (const item of made)
        if (item.failure) reasons.set(item.failure.reason, (reasons.get(item.failure.reason) ?? 0) + 1);
      expect(new Map(summary.failedByReason.map((row) => [row.reason, row.count]))).toEqual(reasons);
      const oldest = Math.min(
        ...made.filter((item) => item.status === 'accepted').map((item) => item.acceptedAt.getTime()),
      );
      expect(summary.oldestUndeliveredAcceptedAt).toEqual(new Date(oldest));
    });

    it.each(FILTERS)(
      'filter %s: every page together is exactly the matching submissions, newest first, none twice',
      async (_label, filter) => {
        const expected = made.filter((item) => matches(item, filter)).sort(newestFirst);
        expect(expected.length).toBeGreaterThan(0);
        const listed = await everyPage(store, filter, 7);
        expect(listed.map((item) => item.id)).toEqual(expected.map((item) => item.id));
        for (const item of listed) {
          const source = made.find((candidate) => candidate.id === item.id);
          expect(item).toMatchObject({
            kind: source?.kind,
            source: source?.source,
            status: source?.status,
            acceptedAt: source?.acceptedAt,
          });
          expect(item.failureReason).toBe(source?.failure?.reason);
        }
      },
    );

    it('submissions accepted while a caller pages shift no page: none listed twice, none skipped', async () => {
      const expected = made.sort(newestFirst).map((item) => item.id);
      let arrivals = 0;
      const listed = await everyPage(store, {}, 11, async () => {
        // Accepted now: later than anything listed so far, as the service's clock makes them.
        const more = await seed(store, 3, { source: `clinic-late-${String(arrivals)}`, start: 200 + arrivals });
        arrivals += more.length;
      });
      expect(arrivals).toBeGreaterThan(0);
      expect(new Set(listed.map((item) => item.id)).size).toBe(listed.length);
      expect(listed.map((item) => item.id)).toEqual(expected);
    });

    it('an empty page for a filter nothing matches, and a limit of one pages one at a time', async () => {
      expect(await store.listSubmissions({ source: 'nobody' }, { limit: 10 })).toEqual([]);
      // Before the arrivals of the test above.
      const filter: SubmissionFilter = { status: 'failed', until: at(150 * MINUTE) };
      const failed = made
        .filter((item) => matches(item, filter))
        .sort(newestFirst)
        .slice(0, 3);
      const listed = (await everyPage(store, filter, 1)).slice(0, 3);
      expect(listed.map((item) => item.id)).toEqual(failed.map((item) => item.id));
    });
  });

  describe(`Store contract, bulk replay: ${name}`, () => {
    let subject: StoreUnderTest;
    let store: Store;
    let made: Made[];
    const NOW = at(20_000 * MINUTE);

    beforeEach(async () => {
      subject = await makeStore();
      store = subject.store;
      await store.migrate();
      made = await seed(store, 40);
    }, 60_000);

    afterEach(async () => {
      await subject.cleanup();
    });

    const failedIds = (filter: SubmissionFilter = {}) =>
      made
        .filter((item) => item.status === 'failed' && matches(item, filter))
        .map((item) => item.id)
        .sort();

    it('counts what it would replay without changing anything (a dry run)', async () => {
      expect(await store.countReplayable({})).toBe(failedIds().length);
      expect(await store.countReplayable({ failureReason: 'ehr-refused', ehrStatus: 404 })).toBe(
        failedIds({ failureReason: 'ehr-refused', ehrStatus: 404 }).length,
      );
      // status says failed whatever the filter says: only failed submissions are replayed.
      expect(await store.countReplayable({ status: 'delivered' })).toBe(0);
      expect((await store.backlog(NOW))['ehr-delivery'].count).toBe(
        made.filter((item) => item.status === 'accepted').length,
      );
    });

    it('re-queues every matching failed submission exactly once, naming the replay, and reports its progress', async () => {
      const filter: SubmissionFilter = { failureReason: 'ehr-refused' };
      const expected = failedIds(filter);
      const replayId = randomUUID();
      expect(await store.replayMatching(filter, { replayId, maximum: 100, now: NOW })).toEqual({
        outcome: 'replayed',
        count: expected.length,
      });
      const claimed = await store.claim('ehr-delivery', 'w', { now: NOW, leaseMs: MINUTE, limit: 1000 });
      const replayed = claimed.filter((job) => expected.includes(job.submissionId));
      expect(replayed.map((job) => job.submissionId).sort()).toEqual(expected);
      for (const id of expected) {
        expect((await store.timeline(id)).at(-1)).toMatchObject({ kind: 'replayed', detail: { replayId } });
      }
      expect(await store.replayProgress(replayId)).toEqual({ accepted: expected.length, delivered: 0, failed: 0 });
      const [first, ...rest] = replayed;
      if (first === undefined) throw new Error('nothing replayed');
      await store.complete(first, { status: 'delivered' }, NOW);
      await store.fail(rest[0] ?? first, { status: 'failed' }, NOW);
      expect(await store.replayProgress(replayId)).toEqual({ accepted: expected.length - 2, delivered: 1, failed: 1 });
      // Again: they are on their way now, not failed: nothing more.
      expect(await store.replayMatching(filter, { replayId: randomUUID(), maximum: 100, now: NOW })).toEqual({
        outcome: 'replayed',
        count: 1,
      });
      expect(await store.replayProgress(randomUUID())).toBeUndefined();
    });

    it('refuses a filter matching more than the maximum with the count, and changes nothing', async () => {
      const all = failedIds();
      expect(await store.replayMatching({}, { replayId: randomUUID(), maximum: all.length - 1, now: NOW })).toEqual({
        outcome: 'too-many',
        count: all.length,
      });
      expect(await store.countReplayable({})).toBe(all.length);
      expect(await store.replayMatching({}, { replayId: randomUUID(), maximum: all.length, now: NOW })).toEqual({
        outcome: 'replayed',
        count: all.length,
      });
    });

    it('two bulk replays at once, from two connections, re-queue each submission once', async () => {
      const other = await subject.reopen();
      const answers = await Promise.all([
        store.replayMatching({}, { replayId: randomUUID(), maximum: 100, now: NOW }),
        other.replayMatching({}, { replayId: randomUUID(), maximum: 100, now: NOW }),
      ]);
      expect(answers.reduce((sum, answer) => sum + answer.count, 0)).toBe(failedIds().length);
      const claimed = await store.claim('ehr-delivery', 'w', { now: NOW, leaseMs: MINUTE, limit: 1000 });
      const ids = claimed.map((job) => job.submissionId).filter((id) => failedIds().includes(id));
      expect(ids.sort()).toEqual(failedIds());
    });
  });
}
