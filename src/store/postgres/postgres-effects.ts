/**
 * What a finished job or a handover step does to its submission (status, EHR references, the
 * handover row, timeline entries, follow-on jobs), in PostgreSQL. Each effect is written once, as a
 * data-modifying CTE; a caller puts the ones it needs into one statement, so however many effects
 * there are, they cost one round trip. Lists go in as arrays (unnest).
 */
import { jsonText, stillHeldSql } from '../store-rules.ts';
import type { Job, JobEffects, NewJob, TimelineEntry } from '../store.ts';
import type { PostgresDatabase, Queryable } from './postgres-database.ts';

export type PostgresEffects = ReturnType<typeof postgresEffects>;

/** Adds a value to a statement's parameters and returns its placeholder. */
type Parameter = (value: unknown, cast?: string) => string;

function parameters(first: readonly unknown[] = []): { values: unknown[]; param: Parameter } {
  const values = [...first];
  return {
    values,
    param: (value, cast = '') => {
      values.push(value);
      return `$${values.length}${cast}`;
    },
  };
}

/** `unnest($a::type[], …)` over the given columns, each a list and its array type, in that order. */
function unnest(param: Parameter, columns: readonly (readonly [readonly unknown[], string])[]): string {
  return `unnest(${columns.map(([values, cast]) => param(values, cast)).join(', ')})`;
}

/** ` and <guard>` to append to a WHERE clause, or nothing without a guard. */
function andAlso(guard: string | undefined): string {
  return guard === undefined ? '' : ` and ${guard}`;
}

export function postgresEffects({ tables: T }: PostgresDatabase) {
  /**
   * The effects as CTEs, each written only when `guard` (a condition, or none) holds. The
   * submission's id becomes a parameter only once an effect names it: PostgreSQL refuses a
   * parameter nothing uses.
   */
  function effectCtes(
    param: Parameter,
    submissionId: string,
    effects: JobEffects,
    now: Date,
    guard?: string,
  ): string[] {
    let submissionParam: string | undefined;
    const submission = (): string => (submissionParam ??= param(submissionId, '::text'));
    const ctes: string[] = [];
    if (effects.status !== undefined || effects.ehrReferences !== undefined) {
      ctes.push(`status_change as (
         update ${T.submissions}
            set status = coalesce(${param(effects.status ?? null, '::text')}, status),
                ehr_references = coalesce(${param(effects.ehrReferences === undefined ? null : jsonText(effects.ehrReferences), '::jsonb')}, ehr_references),
                updated_at = ${param(now, '::timestamptz')}
          where id = ${submission()}${andAlso(guard)}
       )`);
    }
    if (effects.handover !== undefined) {
      ctes.push(`handover_change as (
         update ${T.handovers}
            set packets_sent_at = ${param(effects.handover.packetsSentAt, '::timestamptz')},
                task_reference = ${param(effects.handover.taskReference ?? null, '::text')}
          where submission_id = ${submission()}${andAlso(guard)}
       )`);
    }
    const timeline = effects.timeline ?? [];
    if (timeline.length > 0) ctes.push(timelineCte(param, submission(), timeline, guard));
    const enqueue = effects.enqueue ?? [];
    if (enqueue.length > 0) ctes.push(followOnJobsCte(param, enqueue, now, guard));
    return ctes;
  }

  /** The entries, in their order, only while the submission exists (an erased one gets none). */
  function timelineCte(param: Parameter, submission: string, entries: readonly TimelineEntry[], guard?: string) {
    return `timeline_entries as (
       insert into ${T.timeline} (submission_id, at, kind, message, detail)
       select ${submission}, u.at, u.kind, u.message, u.detail
         from ${unnest(param, [
           [entries.map((entry) => entry.at), '::timestamptz[]'],
           [entries.map((entry) => entry.kind), '::text[]'],
           [entries.map((entry) => entry.message), '::text[]'],
           [entries.map((entry) => (entry.detail === undefined ? null : jsonText(entry.detail))), '::jsonb[]'],
         ])}
              with ordinality as u(at, kind, message, detail, n)
        where exists (select 1 from ${T.submissions} where id = ${submission})${andAlso(guard)}
        order by u.n
       returning 1
     )`;
  }

  function followOnJobsCte(param: Parameter, jobs: readonly NewJob[], now: Date, guard?: string) {
    return `follow_on_jobs as (
       insert into ${T.jobs} (queue, submission_id, payload, run_at, created_at)
       select u.queue, u.submission_id, u.payload, u.run_at, ${param(now, '::timestamptz')}
         from ${unnest(param, [
           [jobs.map((next) => next.queue), '::text[]'],
           [jobs.map((next) => next.submissionId), '::text[]'],
           [jobs.map((next) => jsonText(next.payload)), '::jsonb[]'],
           [jobs.map((next) => next.runAt), '::timestamptz[]'],
         ])}
              with ordinality as u(queue, submission_id, payload, run_at, n)
        ${guard === undefined ? '' : `where ${guard}`}
        order by u.n
     )`;
  }

  /** Inserts the entries if the submission exists; returns how many were written. */
  async function insertTimeline(
    client: Queryable,
    submissionId: string,
    entries: readonly TimelineEntry[],
  ): Promise<number> {
    if (entries.length === 0) return 0;
    const { values, param } = parameters();
    const { rows } = await client.query<{ written: number }>(
      `with ${timelineCte(param, param(submissionId, '::text'), entries)}
       select count(*)::integer as written from timeline_entries`,
      values,
    );
    return rows[0]?.written ?? 0;
  }

  /** The effects, unconditionally, inside the caller's transaction: one statement. */
  async function applyEffects(client: Queryable, submissionId: string, effects: JobEffects, now: Date): Promise<void> {
    const { values, param } = parameters();
    const ctes = effectCtes(param, submissionId, effects, now);
    if (ctes.length > 0) await client.query(`with ${ctes.join(', ')} select 1`, values);
  }

  /**
   * Changes the job only while `job` still holds it, and applies the effects with it; false when
   * it no longer does (and nothing is written). One statement, so one round trip and its own
   * transaction: every effect writes only when the fenced update matched, and a failing one (a
   * follow-on job for a missing submission) undoes the statement whole. It was BEGIN, the update,
   * one statement per effect and COMMIT, six round trips for a delivered session, each a socket
   * write and a wake-up of both processes on the cores HAPI needs (bench/README.md, end to end).
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
    const { values, param } = parameters([job.id, job.leaseOwner, job.attempts, ...params]);
    const ctes = [
      `fenced as (
         update ${T.jobs} as j set ${change}, attempts = $3
          where j.id = $1 and ${stillHeldSql('j', T.queueLeases, '$2', '$3::integer')}
         returning j.id
       )`,
      ...effectCtes(param, job.submissionId, effects, now, 'exists (select 1 from fenced)'),
    ];
    const { rows } = await client.query<{ fenced: number }>(
      `with ${ctes.join(', ')} select count(*)::integer as fenced from fenced`,
      values,
    );
    return rows[0]?.fenced === 1;
  }

  return { insertTimeline, applyEffects, fencedChange };
}
