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

  /** Changes the job only while `job` still holds it, then applies the effects; false when it no longer does. */
  async function fencedChange(
    client: Queryable,
    job: Job,
    change: string,
    params: unknown[],
    effects: JobEffects,
    now: Date,
  ): Promise<boolean> {
    const result = await client.query(
      `update ${T.jobs} set ${change}
        where id = $1 and lease_owner = $2 and attempts = $3 and done_at is null`,
      [job.id, job.leaseOwner, job.attempts, ...params],
    );
    if (result.rowCount !== 1) return false;
    await applyEffects(client, job.submissionId, effects, now);
    return true;
  }

  return { insertJobs, insertTimeline, applyEffects, fencedChange };
}
