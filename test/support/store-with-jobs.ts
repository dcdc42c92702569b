/**
 * A throwaway embedded store holding `count` due jobs of one queue, claimable in index order;
 * each job's payload is `payload(index)` (`{ index }` unless told, e.g. an outbox event).
 */
import { createSqliteStore } from '../../src/store/sqlite-store.ts';
import type { NewSubmission, QueueName, Store } from '../../src/store/store.ts';

export async function storeWithJobs(
  count: number,
  queue: QueueName,
  at: Date,
  payload: (index: number) => unknown = (index) => ({ index }),
): Promise<Store> {
  const store = createSqliteStore({ file: ':memory:' });
  await store.migrate();
  for (let index = 0; index < count; index += 1) {
    // One run_at per job, in order: the claim order is run_at, then id.
    await addJob(store, index, { queue, payload: payload(index), runAt: new Date(at.getTime() - count + index) }, at);
  }
  return store;
}

/** The id of submission number `index`: a UUID ending in the index. */
export function numberedSubmissionId(index: number): string {
  return `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`;
}

/** Submission number `index` (id, input id and body hash from the index), accepted at `acceptedAt`. */
export function numberedSubmission(index: number, acceptedAt: Date): NewSubmission {
  const id = numberedSubmissionId(index);
  return {
    id,
    kind: 'hit-sessions',
    source: 'worker-loop-test',
    inputId: `S-${index}`,
    bodyHash: id,
    body: {},
    patientKey: 'key-1',
    acceptedAt,
  };
}

/** Files job `index` as the job of numbered submission `index`, accepted at `acceptedAt`. */
export async function addJob(
  store: Store,
  index: number,
  job: { queue: QueueName; payload: unknown; runAt: Date },
  acceptedAt: Date,
): Promise<void> {
  await store.accept(numberedSubmission(index, acceptedAt), job);
}
