/**
 * Submissions in PostgreSQL (see SubmissionStore). accept() is one statement (data-modifying
 * CTEs) shared with the accepts asked for beside it (postgres-accept-groups.ts): atomic without a
 * BEGIN/COMMIT round trip, holding row locks for that statement only.
 */
import { normalize } from '../../platform/problem.ts';
import { fromDatesAndJson, submissionOf, timelineEntryOf, type SubmissionRow, type TimelineRow } from '../rows.ts';
import { patientSubmissionsSql } from '../patient-records.ts';
import { erasedEntry, judgeDuplicate, noSubmission, replayedEntry } from '../store-rules.ts';
import type { BulkReplayOutcome, SubmissionStore } from '../store.ts';
import * as browser from '../submission-query.ts';
import type { PostgresDatabase, Queryable } from './postgres-database.ts';
import type { PostgresEffects } from './postgres-effects.ts';
import { postgresAcceptGroups } from './postgres-accept-groups.ts';

export function postgresSubmissions(db: PostgresDatabase, effects: PostgresEffects): SubmissionStore {
  const { tables: T, dialect } = db;
  const acceptGroups = postgresAcceptGroups(db);
  const submissions = async (text: string, params: unknown[]) =>
    (await db.query<SubmissionRow>(text, params)).rows.map((row) => submissionOf(row, fromDatesAndJson));

  /** replay() inside a transaction the caller holds; a bulk replay's entry names its id. */
  async function replayOne(client: Queryable, submissionId: string, now: Date, replayId: string | undefined) {
    // The row lock makes a second, concurrent replay see 'accepted' and do nothing.
    // body_erased_at is asked again after any concurrent erasure commits (READ COMMITTED re-checks
    // the updated row), so a replay racing retention never re-queues a submission without a body.
    const reopened = await client.query(
      `update ${T.submissions} set status = 'accepted', updated_at = $2
        where id = $1 and status = 'failed' and body_erased_at is null`,
      [submissionId, now],
    );
    if (reopened.rowCount !== 1) return false;
    await client.query(
      `insert into ${T.jobs} (queue, submission_id, payload, run_at, created_at)
       select 'ehr-delivery', $1, coalesce((
         select payload from ${T.jobs} where submission_id = $1 and queue = 'ehr-delivery' order by id desc limit 1
       ), 'null'::jsonb), $2, $2`,
      [submissionId, now],
    );
    await effects.insertTimeline(client, submissionId, [replayedEntry(now, replayId)]);
    return true;
  }

  return {
    async accept(submission, firstJob) {
      // Not created: an accept holding one of its keys (earlier, concurrent, or before it in the
      // same group) committed first, and the lookup below finds that row.
      const created = await acceptGroups.insert(submission, firstJob);
      // The body is not read back: the row holds this input's text, so the input is the body.
      if (created) {
        return {
          outcome: 'created',
          submission: { ...submissionOf(created, fromDatesAndJson), body: submission.body },
        };
      }

      const existing = await submissions(
        `select * from ${T.submissions}
          where source = $1 and (idempotency_key = $2 or (kind = $3 and input_id = $4))`,
        [submission.source, submission.idempotencyKey ?? null, submission.kind, submission.inputId],
      );
      const byKey = existing.find(
        (row) => submission.idempotencyKey !== undefined && row.idempotencyKey === submission.idempotencyKey,
      );
      const byInput = existing.find((row) => row.kind === submission.kind && row.inputId === submission.inputId);
      const outcome = judgeDuplicate(submission, byKey, byInput);
      if (outcome) return outcome;
      throw normalize(new Error(`submission id ${submission.id} is already taken by another submission`));
    },

    getSubmission: async (id) => (await submissions(`select * from ${T.submissions} where id = $1`, [id]))[0],

    findSubmission: async (source, kind, inputId) =>
      (
        await submissions(`select * from ${T.submissions} where source = $1 and kind = $2 and input_id = $3`, [
          source,
          kind,
          inputId,
        ])
      )[0],

    patientSubmissions(patientKey, kinds, since) {
      const { text, params } = patientSubmissionsSql(patientKey, kinds, since, dialect, T.submissions);
      return submissions(text, params);
    },

    async timeline(submissionId) {
      const { rows } = await db.query<TimelineRow>(
        `select at, kind, message, detail from (
           select at, kind, message, detail, 0 as noted, id from ${T.timeline} where submission_id = $1
           union all
           select j.done_at, n.note ->> 'kind', n.note ->> 'message', n.note -> 'detail', 1, j.id
             from ${T.jobs} as j, lateral (select j.completion_note::jsonb as note) as n
            where j.submission_id = $1 and j.completion_note is not null
         ) as entries
         order by at, noted, id`,
        [submissionId],
      );
      return rows.map((row) => timelineEntryOf(row, fromDatesAndJson));
    },

    async appendTimeline(submissionId, entries) {
      const written = await db.withClient((client) => effects.insertTimeline(client, submissionId, entries));
      if (written === 0) {
        const exists = await db.query(`select 1 from ${T.submissions} where id = $1`, [submissionId]);
        if (exists.rowCount === 0) throw noSubmission(submissionId);
      }
    },

    replay: (submissionId, now) => db.transaction((client) => replayOne(client, submissionId, now, undefined)),

    async listSubmissions(filter, page) {
      const { text, params } = browser.listSql(filter, page, dialect, T.submissions);
      const { rows } = await db.query<browser.ListRow>(text, params);
      return rows.map((row) => browser.listItemOf(row, fromDatesAndJson.time));
    },

    async summarizeSubmissions() {
      const statements = browser.summarySql(dialect, T.submissions);
      const counts = await db.query<{ kind: string; status: string; count: string }>(statements.counts);
      const failed = await db.query<{ reason: string; count: string }>(statements.failed);
      const oldest = await db.query<{ oldest: Date | null }>(statements.oldest);
      return browser.summaryOf(counts.rows, failed.rows, oldest.rows[0]?.oldest, fromDatesAndJson.time);
    },

    async countReplayable(filter) {
      const { text, params } = browser.replayableSql(filter, dialect, T.submissions);
      return (await db.query<{ id: string }>(text, params)).rowCount ?? 0;
    },

    replayMatching(filter, options) {
      return db.transaction(async (client): Promise<BulkReplayOutcome> => {
        const { text, params } = browser.replayableSql(filter, dialect, T.submissions);
        // Locked: a concurrent bulk replay waits, then finds these accepted and leaves them alone.
        const { rows } = await client.query<{ id: string }>(`${text} for update of s`, params);
        if (rows.length > options.maximum) return { outcome: 'too-many', count: rows.length };
        let count = 0;
        for (const { id } of rows) if (await replayOne(client, id, options.now, options.replayId)) count += 1;
        return { outcome: 'replayed', count };
      });
    },

    async replayProgress(replayId) {
      const { text, params } = browser.progressSql(replayId, dialect, T.submissions);
      return browser.progressOf((await db.query<{ status: string; count: string }>(text, params)).rows);
    },

    async erasePersonalData(cutoffs, now) {
      if (cutoffs.limit <= 0) return [];
      const entry = erasedEntry(now);
      // One statement: pick (skipping rows another replica is erasing), erase, note it on the timeline.
      const { rows } = await db.query<{ id: string }>(
        `with due as (
           select s.id from ${T.submissions} s
            where s.body_erased_at is null
              and ((s.status = 'delivered' and s.updated_at <= $1) or (s.status = 'failed' and s.updated_at <= $2))
              and not exists (select 1 from ${T.jobs} j where j.submission_id = s.id and j.done_at is null)
            order by s.updated_at
            limit $3
            for update skip locked
         ), erased as (
           update ${T.submissions} s set body = 'null'::jsonb, body_erased_at = $4
             from due where s.id = due.id and s.body_erased_at is null
           returning s.id
         ), noted as (
           insert into ${T.timeline} (submission_id, at, kind, message)
           select id, $4, $5, $6 from erased
         ), emptied as (
           -- Finished jobs keep their payloads otherwise: a handover packet's event names the patient.
           update ${T.jobs} j set payload = 'null'::jsonb
             from erased where j.submission_id = erased.id and j.done_at is not null
         )
         select id from erased`,
        [cutoffs.deliveredBefore, cutoffs.failedBefore, cutoffs.limit, now, entry.kind, entry.message],
      );
      return rows.map((row) => row.id);
    },
  };
}
