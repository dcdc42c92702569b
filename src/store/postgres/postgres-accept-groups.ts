/**
 * PostgreSQL's accepts, written in groups (docs/adr/0053-postgres-accepts-in-groups.md).
 *
 * One statement per accept held a pooled connection through its round trip and its commit's WAL
 * flush: at 1,000 req/s on two busy cores a statement took ~9 ms, so ten connections were just
 * enough, and every pause (a collection, a slow flush) left dozens of accepts queued for a
 * connection, each then paying its own statement and commit. Now the accepts asked for while
 * `MAX_IN_FLIGHT` groups are already on their way wait together and go as one statement — one
 * round trip, one commit, one flush — when a group comes back; with a connection free they go at
 * the end of the turn, so a lone accept waits no longer than before. Each promise still settles
 * only once the statement holding it has committed (synchronous_commit as the server has it).
 */
import { Problem } from '../../platform/problem.ts';
import type { NewJob, NewSubmission } from '../store.ts';
import { acceptedEntry, jsonText } from '../store-rules.ts';
import type { SubmissionRow } from '../rows.ts';
import type { PostgresDatabase } from './postgres-database.ts';

/** Groups on their way at once: the pool's other users (audit trail, relay, workers) keep the rest of its 10. */
const MAX_IN_FLIGHT = 4;
/** Accepts per statement at most: bounds the statement's arrays (a session's body is a few kB). */
const MAX_GROUP = 128;

interface PendingAccept {
  readonly values: readonly unknown[];
  readonly id: string;
  readonly resolve: (created: SubmissionRow | undefined) => void;
  readonly reject: (error: unknown) => void;
}

export interface AcceptGroups {
  /** The submission's row without its body if this accept created it; undefined if another held its keys. */
  insert(submission: NewSubmission, firstJob: Omit<NewJob, 'submissionId'>): Promise<SubmissionRow | undefined>;
}

export function postgresAcceptGroups(db: PostgresDatabase): AcceptGroups {
  const T = db.tables;
  // A row per accept; ON CONFLICT DO NOTHING covers both unique keys, also between two rows of one
  // group (the first asked for is inserted). The job and the timeline entry follow only the rows
  // inserted: the submission, its first job and its first entry, or nothing, as one statement.
  const text = `with input as (
      select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                           $8::text[], $9::timestamptz[], $10::text[], $11::text[], $12::timestamptz[], $13::text[],
                           $14::text[], $15::text[])
        with ordinality as i(id, kind, source, input_id, idempotency_key, body_hash, body, patient_key, accepted_at,
                             queue, payload, run_at, entry_kind, entry_message, entry_detail, ord)
    ), s as (
      insert into ${T.submissions} (id, kind, source, input_id, idempotency_key, body_hash, body, patient_key,
        status, ehr_references, accepted_at, updated_at)
      select id, kind, source, input_id, idempotency_key, body_hash, body::jsonb, patient_key, 'accepted', '[]',
             accepted_at, accepted_at
        from input order by ord
      on conflict do nothing
      returning id, kind, source, input_id, idempotency_key, body_hash, patient_key, status, ehr_references,
                accepted_at, updated_at, body_erased_at
    ), j as (
      insert into ${T.jobs} (queue, submission_id, payload, run_at, created_at)
      select i.queue, s.id, i.payload::jsonb, i.run_at, i.accepted_at from s join input i using (id) order by i.ord
    ), t as (
      insert into ${T.timeline} (submission_id, at, kind, message, detail)
      select s.id, i.accepted_at, i.entry_kind, i.entry_message, i.entry_detail::jsonb
        from s join input i using (id) order by i.ord
    )
    select id, kind, source, input_id, idempotency_key, body_hash, null as body, patient_key, status,
           ehr_references, accepted_at, updated_at, body_erased_at
      from s`;

  let pending: PendingAccept[] = [];
  let inFlight = 0;
  let scheduled = false;

  function schedule(): void {
    if (scheduled || pending.length === 0 || inFlight >= MAX_IN_FLIGHT) return;
    scheduled = true;
    setImmediate(send);
  }

  function send(): void {
    scheduled = false;
    while (pending.length > 0 && inFlight < MAX_IN_FLIGHT) {
      const group = pending.slice(0, MAX_GROUP);
      pending = pending.slice(MAX_GROUP);
      inFlight += 1;
      void write(group).finally(() => {
        inFlight -= 1;
        schedule();
      });
    }
  }

  async function write(group: readonly PendingAccept[]): Promise<void> {
    let created: Map<string, SubmissionRow>;
    try {
      const column = (index: number) => group.map((accept) => accept.values[index]);
      const { rows } = await db.query<SubmissionRow>(
        text,
        Array.from({ length: 15 }, (_, index) => column(index)),
      );
      created = new Map(rows.map((row) => [row.id, row]));
    } catch (error) {
      // An input the database refuses must not fail the others that happened to share its
      // statement: each goes again alone. Not when the database is unreachable (a 503 for all).
      const retriable = error instanceof Problem && error.status === 503;
      if (group.length === 1 || retriable) for (const accept of group) accept.reject(error);
      else await Promise.all(group.map((accept) => write([accept])));
      return;
    }
    for (const accept of group) accept.resolve(created.get(accept.id));
  }

  return {
    insert(submission, firstJob) {
      const at = submission.acceptedAt;
      const entry = acceptedEntry(at, firstJob.queue);
      const values = [
        submission.id,
        submission.kind,
        submission.source,
        submission.inputId,
        submission.idempotencyKey ?? null,
        submission.bodyHash,
        jsonText(submission.body),
        submission.patientKey,
        at,
        firstJob.queue,
        jsonText(firstJob.payload),
        firstJob.runAt,
        entry.kind,
        entry.message,
        jsonText(entry.detail),
      ];
      return new Promise((resolve, reject) => {
        pending.push({ values, id: submission.id, resolve, reject });
        schedule();
      });
    },
  };
}
