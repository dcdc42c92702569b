/**
 * Submissions in SQLite: accepts group-committed (one fsync for the accepts of one turn of the
 * event loop), timelines, the message browser's shared SQL, replay and retention (see SubmissionStore).
 */
import type { SQLInputValue } from 'node:sqlite';
import { fromMillisAndText, submissionOf, timelineEntryOf, type SubmissionRow, type TimelineRow } from '../rows.ts';
import { patientSubmissionsSql } from '../patient-records.ts';
import { acceptedEntry, erasedEntry, judgeDuplicate, jsonText, noSubmission, replayedEntry } from '../store-rules.ts';
import type { AcceptOutcome, BulkReplayOutcome, NewJob, NewSubmission, Submission, SubmissionStore } from '../store.ts';
import * as browser from '../submission-query.ts';
import type { Sql } from '../submission-query.ts';
import { SQLITE, type SqliteDatabase } from './sqlite-database.ts';
import type { SqliteEffects } from './sqlite-effects.ts';
import type { GroupedWrites } from './sqlite-grouped-writes.ts';

export function sqliteSubmissions(db: SqliteDatabase, effects: SqliteEffects, writes: GroupedWrites): SubmissionStore {
  const submission = (text: string, ...params: SQLInputValue[]): Submission | undefined => {
    const row = db.get<SubmissionRow>(text, ...params);
    return row && submissionOf(row, fromMillisAndText);
  };
  const rowsOf = <T>({ text, params }: Sql): T[] => db.all<T>(text, ...(params as SQLInputValue[]));

  /** replay() inside a transaction the caller holds; a bulk replay's entry names its id. */
  function replayOne(submissionId: string, now: Date, replayId: string | undefined): boolean {
    const changed = db.run(
      `update submissions set status = 'accepted', updated_at = ?
         where id = ? and status = 'failed' and body_erased_at is null`,
      now.getTime(),
      submissionId,
    );
    if (changed === 0) return false;
    const last = db.get<{ payload: string }>(
      `select payload from jobs where submission_id = ? and queue = 'ehr-delivery' order by id desc limit 1`,
      submissionId,
    );
    effects.insertJob(
      {
        queue: 'ehr-delivery',
        submissionId,
        payload: last === undefined ? null : (JSON.parse(last.payload) as unknown),
        runAt: now,
      },
      now,
    );
    effects.insertTimeline(submissionId, [replayedEntry(now, replayId)]);
    return true;
  }

  return {
    accept: (input, firstJob) => writes.accept(input, firstJob),

    getSubmission: (id) => db.settle(() => submission('select * from submissions where id = ?', id)),

    findSubmission: (source, kind, inputId) =>
      db.settle(() =>
        submission('select * from submissions where source = ? and kind = ? and input_id = ?', source, kind, inputId),
      ),

    patientSubmissions: (patientKey, kinds, since) =>
      db.settle(() =>
        rowsOf<SubmissionRow>(patientSubmissionsSql(patientKey, kinds, since, SQLITE, 'submissions')).map((row) =>
          submissionOf(row, fromMillisAndText),
        ),
      ),

    timeline: (submissionId) =>
      db.settle(() =>
        db
          .all<TimelineRow>(
            `select at, kind, message, detail from (
               select at, kind, message, detail, 0 as noted, id from timeline where submission_id = ?1
               union all
               select done_at, completion_note ->> '$.kind', completion_note ->> '$.message',
                      completion_note -> '$.detail', 1, id
                 from jobs where submission_id = ?1 and completion_note is not null
             )
             order by at, noted, id`,
            submissionId,
          )
          .map((row) => timelineEntryOf(row, fromMillisAndText)),
      ),

    appendTimeline: (submissionId, entries) =>
      db.settle(() => {
        db.transaction(() => {
          if (!db.get('select 1 from submissions where id = ?', submissionId)) throw noSubmission(submissionId);
          effects.insertTimeline(submissionId, entries);
        });
      }),

    replay: (submissionId, now) => db.settle(() => db.transaction(() => replayOne(submissionId, now, undefined))),

    listSubmissions: (filter, page) =>
      db.settle(() =>
        rowsOf<browser.ListRow>(browser.listSql(filter, page, SQLITE, 'submissions')).map((row) =>
          browser.listItemOf(row, fromMillisAndText.time),
        ),
      ),

    summarizeSubmissions: () =>
      db.settle(() => {
        const statements = browser.summarySql(SQLITE, 'submissions');
        return browser.summaryOf(
          db.all<{ kind: string; status: string; count: number }>(statements.counts),
          db.all<{ reason: string; count: number }>(statements.failed),
          db.get<{ oldest: number | null }>(statements.oldest)?.oldest,
          fromMillisAndText.time,
        );
      }),

    countReplayable: (filter) =>
      db.settle(() => rowsOf<{ id: string }>(browser.replayableSql(filter, SQLITE, 'submissions')).length),

    replayMatching: (filter, options) =>
      db.settle(() =>
        db.transaction((): BulkReplayOutcome => {
          const ids = rowsOf<{ id: string }>(browser.replayableSql(filter, SQLITE, 'submissions')).map((row) => row.id);
          if (ids.length > options.maximum) return { outcome: 'too-many', count: ids.length };
          let count = 0;
          for (const id of ids) if (replayOne(id, options.now, options.replayId)) count += 1;
          return { outcome: 'replayed', count };
        }),
      ),

    replayProgress: (replayId) =>
      db.settle(() =>
        browser.progressOf(
          rowsOf<{ status: string; count: number }>(browser.progressSql(replayId, SQLITE, 'submissions')),
        ),
      ),

    erasePersonalData: (cutoffs, now) =>
      db.settle(() => {
        if (cutoffs.limit <= 0) return [];
        return db.transaction(() => {
          const erased = db
            .all<{ id: string }>(
              `update submissions set body = 'null', body_erased_at = ?
                where id in (
                  select s.id from submissions s
                   where s.body_erased_at is null
                     and ((s.status = 'delivered' and s.updated_at <= ?) or (s.status = 'failed' and s.updated_at <= ?))
                     and not exists (select 1 from jobs j where j.submission_id = s.id and j.done_at is null)
                   order by s.updated_at
                   limit ?)
                returning id`,
              now.getTime(),
              cutoffs.deliveredBefore.getTime(),
              cutoffs.failedBefore.getTime(),
              cutoffs.limit,
            )
            .map((row) => row.id);
          for (const id of erased) {
            effects.insertTimeline(id, [erasedEntry(now)]);
            // Finished jobs keep their payloads otherwise: a handover packet's event names the patient.
            db.run(`update jobs set payload = 'null' where submission_id = ? and done_at is not null`, id);
          }
          return erased;
        });
      }),
  };
}

/**
 * One accept inside the group's transaction, on whichever connection holds it: the store's own
 * (':memory:') or the write thread's (sqlite-writer.ts).
 */
export function acceptWithin(
  db: SqliteDatabase,
  effects: SqliteEffects,
  input: NewSubmission,
  firstJob: Omit<NewJob, 'submissionId'>,
  bodyText: string = jsonText(input.body),
): AcceptOutcome {
  const submission = (text: string, ...params: SQLInputValue[]): Submission | undefined => {
    const row = db.get<SubmissionRow>(text, ...params);
    return row && submissionOf(row, fromMillisAndText);
  };
  const created = db.get<SubmissionRow>(
    `insert into submissions (id, kind, source, input_id, idempotency_key, body_hash, body, patient_key,
           status, ehr_references, accepted_at, updated_at)
         values (?, ?, ?, ?, ?, ?, ?, ?, 'accepted', '[]', ?, ?)
         on conflict do nothing
         returning *`,
    input.id,
    input.kind,
    input.source,
    input.inputId,
    input.idempotencyKey ?? null,
    input.bodyHash,
    bodyText,
    input.patientKey,
    input.acceptedAt.getTime(),
    input.acceptedAt.getTime(),
  );
  if (created) {
    effects.insertJob({ ...firstJob, submissionId: input.id }, input.acceptedAt);
    effects.insertTimeline(input.id, [acceptedEntry(input.acceptedAt, firstJob.queue)]);
    // The row's body is the input's own text: the input is the body, not a copy parsed back.
    const stored = submissionOf({ ...created, body: null }, fromMillisAndText);
    return { outcome: 'created', submission: { ...stored, body: input.body } };
  }
  const byKey =
    input.idempotencyKey === undefined
      ? undefined
      : submission(
          'select * from submissions where source = ? and idempotency_key = ?',
          input.source,
          input.idempotencyKey,
        );
  const byInput = submission(
    'select * from submissions where source = ? and kind = ? and input_id = ?',
    input.source,
    input.kind,
    input.inputId,
  );
  const outcome = judgeDuplicate(input, byKey, byInput);
  if (outcome) return outcome;
  throw new Error(`submission id ${input.id} is already taken by another submission`);
}
