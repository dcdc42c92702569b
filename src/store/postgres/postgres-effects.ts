/**
 * What a finished job or a handover step does to its submission (status, EHR references, the
 * handover row, timeline entries, follow-on jobs), in PostgreSQL, inside the caller's
 * transaction; lists go in as arrays (unnest), one statement however many.
 */
import { jsonText } from '../store-rules.ts';
import type { Job, JobEffects, NewJob, TimelineEntry } from '../store.ts';
import type { PostgresDatabase, Queryable } from './postgres-database.ts';

export type PostgresEffects = ReturnType<typeof postgresEffects>;

export function postgresEffects({ tables: T }: PostgresDatabase) {
  async function insertJobs(client: Queryable, jobs: readonly NewJob[], now: Date): Promise<void> {
    if (jobs.length === 0) return;
    await client.query(
      `insert into ${T.jobs} (queue, submission_id, payload, run_at, created_at)
       select u.queue, u.submission_id, u.payload, u.run_at, $1
         from unnest($2::text[], $3::text[], $4::jsonb[], $5::timestamptz[])
              with ordinality as u(queue, submission_id, payload, run_at, n)
        order by u.n`,
      [
        now,
        jobs.map((job) => job.queue),
        jobs.map((job) => job.submissionId),
        jobs.map((job) => jsonText(job.payload)),
        jobs.map((job) => job.runAt),
      ],
    );
  }

  /** Inserts the entries if the submission exists; returns how many were written. */
  async function insertTimeline(
    client: Queryable,
    submissionId: string,
    entries: readonly TimelineEntry[],
  ): Promise<number> {
    if (entries.length === 0) return 0;
    const result = await client.query(
      `insert into ${T.timeline} (submission_id, at, kind, message, detail)
       select $1, u.at, u.kind, u.message, u.detail
         from unnest($2::timestamptz[], $3::text[], $4::text[], $5::jsonb[])
              with ordinality as u(at, kind, message, detail, n)
        where exists (select 1 from ${T.submissions} where id = $1)
        order by u.n`,
      [
        submissionId,
        entries.map((entry) => entry.at),
        entries.map((entry) => entry.kind),
        entries.map((entry) => entry.message),
        entries.map((entry) => (entry.detail === undefined ? null : jsonText(entry.detail))),
      ],
    );
    return result.rowCount ?? 0;
  }

  async function applyEffects(client: Queryable, submissionId: string, effects: JobEffects, now: Date): Promise<void> {
    if (effects.status !== undefined || effects.ehrReferences !== undefined) {
      await client.query(
        `update ${T.submissions}
            set status = coalesce($2, status), ehr_references = coalesce($3::jsonb, ehr_references), updated_at = $4
          where id = $1`,
        [
          submissionId,
          effects.status ?? null,
          effects.ehrReferences === undefined ? null : jsonText(effects.ehrReferences),
          now,
        ],
      );
    }
    if (effects.handover !== undefined) {
      await client.query(
        `update ${T.handovers} set packets_sent_at = $2, task_reference = $3 where submission_id = $1`,
        [submissionId, effects.handover.packetsSentAt, effects.handover.taskReference ?? null],
      );
    }
    await insertTimeline(client, submissionId, effects.timeline ?? []);
    await insertJobs(client, effects.enqueue ?? [], now);
  }

  /**
   * Changes the job only while `job` still holds it, and applies the effects with it; false when
   * it no longer does (and nothing is written). One statement, so one round trip and its own
   * transaction: each effect is a data-modifying CTE that writes only when the fenced update
   * matched, and a failing one (a follow-on job for a missing submission) undoes the statement
   * whole. It was BEGIN, the update, one statement per effect and COMMIT, six round trips for a
   * delivered session, each a socket write and a wake-up of both processes on the cores HAPI
   * needs (bench/README.md, end to end).
   */
  async function fencedChange(
    client: Pick<PostgresDatabase, 'query'>,
    job: Job,
    change: string,
    params: unknown[],
    effects: JobEffects,
    now: Date,
  ): Promise<boolean> {
    // $1–$3 fence the job; the change's own parameters follow from $4, then the effects'.
    const values: unknown[] = [job.id, job.leaseOwner, job.attempts, ...params];
    const param = (value: unknown, cast = ''): string => {
      values.push(value);
      return `$${values.length}${cast}`;
    };
    const ctes = [
      `fenced as (
         update ${T.jobs} set ${change}
          where id = $1 and lease_owner = $2 and attempts = $3 and done_at is null
         returning id
       )`,
    ];
    // Its parameter only once an effect names it: PostgreSQL refuses a parameter nothing uses.
    let submissionParam: string | undefined;
    const submission = (): string => (submissionParam ??= param(job.submissionId, '::text'));
    if (effects.status !== undefined || effects.ehrReferences !== undefined) {
      ctes.push(`status_change as (
         update ${T.submissions}
            set status = coalesce(${param(effects.status ?? null, '::text')}, status),
                ehr_references = coalesce(${param(effects.ehrReferences === undefined ? null : jsonText(effects.ehrReferences), '::jsonb')}, ehr_references),
                updated_at = ${param(now, '::timestamptz')}
          where id = ${submission()} and exists (select 1 from fenced)
       )`);
    }
    if (effects.handover !== undefined) {
      ctes.push(`handover_change as (
         update ${T.handovers}
            set packets_sent_at = ${param(effects.handover.packetsSentAt, '::timestamptz')},
                task_reference = ${param(effects.handover.taskReference ?? null, '::text')}
          where submission_id = ${submission()} and exists (select 1 from fenced)
       )`);
    }
    const timeline = effects.timeline ?? [];
    if (timeline.length > 0) {
      // As insertTimeline: only while the submission exists.
      ctes.push(`timeline_entries as (
         insert into ${T.timeline} (submission_id, at, kind, message, detail)
         select ${submission()}, u.at, u.kind, u.message, u.detail
           from unnest(${param(
             timeline.map((entry) => entry.at),
             '::timestamptz[]',
           )}, ${param(
             timeline.map((entry) => entry.kind),
             '::text[]',
           )}, ${param(
             timeline.map((entry) => entry.message),
             '::text[]',
           )}, ${param(
             timeline.map((entry) => (entry.detail === undefined ? null : jsonText(entry.detail))),
             '::jsonb[]',
           )})
                with ordinality as u(at, kind, message, detail, n)
          where exists (select 1 from fenced) and exists (select 1 from ${T.submissions} where id = ${submission()})
          order by u.n
       )`);
    }
    const enqueue = effects.enqueue ?? [];
    if (enqueue.length > 0) {
      ctes.push(`follow_on_jobs as (
         insert into ${T.jobs} (queue, submission_id, payload, run_at, created_at)
         select u.queue, u.submission_id, u.payload, u.run_at, ${param(now, '::timestamptz')}
           from unnest(${param(
             enqueue.map((next) => next.queue),
             '::text[]',
           )}, ${param(
             enqueue.map((next) => next.submissionId),
             '::text[]',
           )}, ${param(
             enqueue.map((next) => jsonText(next.payload)),
             '::jsonb[]',
           )}, ${param(
             enqueue.map((next) => next.runAt),
             '::timestamptz[]',
           )})
                with ordinality as u(queue, submission_id, payload, run_at, n)
          where exists (select 1 from fenced)
          order by u.n
       )`);
    }
    const { rows } = await client.query<{ fenced: number }>(
      `with ${ctes.join(', ')} select count(*)::integer as fenced from fenced`,
      values,
    );
    return rows[0]?.fenced === 1;
  }

  return { insertJobs, insertTimeline, applyEffects, fencedChange };
}
