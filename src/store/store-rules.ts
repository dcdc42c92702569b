/**
 * What both Store adapters decide the same way, kept in one place so the dialects cannot drift:
 * how a duplicate submission is judged, how JSON is written, the shape of an empty backlog, and
 * when a job is still its holder's to finish.
 */
import { normalize, notFound, type Problem } from '../platform/problem.ts';
import type { AcceptOutcome, NewSubmission, QueueName, Store, Submission, TimelineEntry } from './store.ts';

const QUEUES: readonly QueueName[] = ['ehr-delivery', 'event-publish', 'handover', 'handover-receipt', 'handover-task'];

/**
 * A submission that could not be inserted because another one holds its idempotency key or its
 * input id: the same request again ('existing'), or a different one under the same name
 * ('conflict'). The idempotency key is asked first — it is what the caller said identifies the
 * request; the input id second — the same record from the same source is one submission,
 * whatever the key. Undefined when neither matches (the row the insert collided with is gone).
 */
export function judgeDuplicate(
  candidate: NewSubmission,
  byIdempotencyKey: Submission | undefined,
  byInputId: Submission | undefined,
): AcceptOutcome | undefined {
  if (byIdempotencyKey) {
    return byIdempotencyKey.bodyHash === candidate.bodyHash
      ? { outcome: 'existing', submission: byIdempotencyKey }
      : { outcome: 'conflict', existing: byIdempotencyKey, reason: 'idempotency-key' };
  }
  if (byInputId) {
    return byInputId.bodyHash === candidate.bodyHash
      ? { outcome: 'existing', submission: byInputId }
      : { outcome: 'conflict', existing: byInputId, reason: 'input-id' };
  }
  return undefined;
}

/**
 * JSON text of a value; `undefined` (or a function or symbol) is stored as null. What JSON cannot
 * carry at all (a BigInt, a cycle) is a bug of the caller: an internal Problem, before any write.
 */
export function jsonText(value: unknown): string {
  try {
    // JSON.stringify answers undefined for undefined, functions and symbols, whatever its type says.
    const text = JSON.stringify(value) as string | undefined;
    return text ?? 'null';
  } catch (error) {
    throw normalize(error);
  }
}

export type Backlog = Awaited<ReturnType<Store['backlog']>>;

export function backlogOf(rows: readonly { queue: string; count: number; oldestAgeMs: number }[]): Backlog {
  const backlog: Record<QueueName, { count: number; oldestAgeMs: number }> = {
    'ehr-delivery': { count: 0, oldestAgeMs: 0 },
    'event-publish': { count: 0, oldestAgeMs: 0 },
    handover: { count: 0, oldestAgeMs: 0 },
    'handover-receipt': { count: 0, oldestAgeMs: 0 },
    'handover-task': { count: 0, oldestAgeMs: 0 },
  };
  for (const row of rows) {
    if ((QUEUES as readonly string[]).includes(row.queue)) {
      backlog[row.queue as QueueName] = { count: row.count, oldestAgeMs: Math.max(0, row.oldestAgeMs) };
    }
  }
  return backlog;
}

const REPLAY_MESSAGE = 'Re-queued for delivery to the EHR (replay).';

/** The timeline entry of a replay; one that is part of a bulk replay names it (its progress is read by it). */
export function replayedEntry(at: Date, replayId: string | undefined): TimelineEntry {
  return {
    at,
    kind: 'replayed',
    message: REPLAY_MESSAGE,
    ...(replayId === undefined ? {} : { detail: { replayId } }),
  };
}

/** The first entry of every submission's timeline, written by accept(). */
export function acceptedEntry(at: Date, queue: QueueName): TimelineEntry {
  return { at, kind: 'accepted', message: 'Received and stored; the work is queued.', detail: { queue } };
}

export function noSubmission(id: string): Problem {
  return notFound(`There is no submission ${id}.`);
}

export const ERASED_MESSAGE =
  'The submitted content (personal data) was erased under the retention rules; status, timeline and EHR references are kept.';

/** The timeline entry retention writes when it erases a submission's body. */
export function erasedEntry(at: Date): TimelineEntry {
  return { at, kind: 'erased', message: ERASED_MESSAGE };
}

/**
 * The condition under which a job's row (`jobs`, a table or its alias) is still the holder's to
 * finish: unfinished, and either leased in its own row to `owner` at this attempt, or — on a queue
 * leased whole (docs/adr/0059-the-relay-leases-the-queue-not-each-row.md) — not leased in its row,
 * one attempt short of the one it was read as (attempts are written by its retry, not by the
 * read), while the queue's lease is `owner`'s. `owner` and `attempts` are the dialect's
 * placeholders for the Job's fields; a queue no one leases whole has no queue_leases row, so only
 * the first branch can hold for its jobs.
 */
export function stillHeldSql(jobs: string, queueLeases: string, owner: string, attempts: string): string {
  return `${jobs}.done_at is null and (
      (${jobs}.lease_owner = ${owner} and ${jobs}.attempts = ${attempts})
      or (${jobs}.lease_owner is null and ${jobs}.attempts = ${attempts} - 1
          and exists (select 1 from ${queueLeases} as queue_lease
                       where queue_lease.queue = ${jobs}.queue and queue_lease.owner = ${owner})))`;
}
