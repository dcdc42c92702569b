/**
 * The outbox's jobs in PostgreSQL (see JobQueue).
 *
 * - claim() is one statement: `FOR UPDATE SKIP LOCKED` over the due, unleased (or lease-expired)
 *   jobs of a queue, then lease owner + expiry and attempts + 1 on exactly those rows. A replica
 *   never waits for another's claim and never gets a row another claim has locked.
 * - complete/retryLater/fail update the job only under its fence, then apply the effects in the
 *   same transaction.
 */
import { fromDatesAndJson, inClaimOrder, jobOf, type JobRow } from '../rows.ts';
import { backlogOf, jsonText } from '../store-rules.ts';
import type { Job, JobEffects, JobQueue } from '../store.ts';
import type { PostgresDatabase } from './postgres-database.ts';
import type { PostgresEffects } from './postgres-effects.ts';

export function postgresJobs(db: PostgresDatabase, effects: PostgresEffects): JobQueue {
  const T = db.tables;
  /** One fenced change in a transaction of its own. */
  const fenced = (job: Job, change: string, params: unknown[], jobEffects: JobEffects, now: Date) =>
    db.transaction((client) => effects.fencedChange(client, job, change, params, jobEffects, now));

  return {
    async claim(queue, owner, options) {
      if (options.limit <= 0) return [];
      const { rows } = await db.query<JobRow>(
        `with due as (
           select id from ${T.jobs}
            where queue = $1 and done_at is null and run_at <= $2
              and (lease_owner is null or lease_expires_at <= $2)
            order by run_at, id
            limit $3
            for update skip locked
         )
         update ${T.jobs} as j
            set lease_owner = $4, lease_expires_at = $5, attempts = j.attempts + 1
           from due
          where j.id = due.id
         returning j.*`,
        [queue, options.now, options.limit, owner, new Date(options.now.getTime() + options.leaseMs)],
      );
      return inClaimOrder(rows.map((row) => jobOf(row, fromDatesAndJson)));
    },

    complete: (job, jobEffects, now) => fenced(job, `done_at = $4, outcome = 'completed'`, [now], jobEffects, now),

    async completeAll(items, now) {
      if (items.length === 0) return [];
      // Set-based: a round trip per statement, not per job, is what a batch of a hundred costs.
      return db.transaction(async (client) => {
        const { rows } = await client.query<{ id: string }>(
          `update ${T.jobs} as j set done_at = $1, outcome = 'completed'
             from unnest($2::bigint[], $3::text[], $4::int[]) as u(id, owner, attempts)
            where j.id = u.id and j.lease_owner = u.owner and j.attempts = u.attempts and j.done_at is null
           returning j.id`,
          [
            now,
            items.map(({ job }) => job.id),
            items.map(({ job }) => job.leaseOwner),
            items.map(({ job }) => job.attempts),
          ],
        );
        const completed = new Set(rows.map((row) => row.id));
        const applied = items.filter(({ job }) => completed.has(job.id));
        const entries = applied.flatMap(({ job, effects: jobEffects }) =>
          (jobEffects.timeline ?? []).map((entry) => ({ submissionId: job.submissionId, entry })),
        );
        if (entries.length > 0) {
          await client.query(
            `insert into ${T.timeline} (submission_id, at, kind, message, detail)
             select u.submission_id, u.at, u.kind, u.message, u.detail
               from unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::jsonb[])
                    with ordinality as u(submission_id, at, kind, message, detail, n)
              order by u.n`,
            [
              entries.map(({ submissionId }) => submissionId),
              entries.map(({ entry }) => entry.at),
              entries.map(({ entry }) => entry.kind),
              entries.map(({ entry }) => entry.message),
              entries.map(({ entry }) => (entry.detail === undefined ? null : jsonText(entry.detail))),
            ],
          );
        }
        // The rarer effects (status, EHR references, follow-on jobs) job by job; none cost a query when absent.
        for (const { job, effects: jobEffects } of applied) {
          await effects.applyEffects(client, job.submissionId, { ...jobEffects, timeline: [] }, now);
        }
        return items.map(({ job }) => completed.has(job.id));
      });
    },

    retryLater: (job, runAt, jobEffects, now) =>
      fenced(job, 'run_at = $4, lease_owner = null, lease_expires_at = null', [runAt], jobEffects, now),

    fail: (job, jobEffects, now) => fenced(job, `done_at = $4, outcome = 'failed'`, [now], jobEffects, now),

    async reapExpiredLeases(now) {
      // Rows locked right now are being claimed or finished by someone: skipped, not waited for.
      const result = await db.query(
        `with expired as (
           select id from ${T.jobs}
            where done_at is null and lease_owner is not null and lease_expires_at <= $1
            for update skip locked
         )
         update ${T.jobs} as j set lease_owner = null, lease_expires_at = null
           from expired where j.id = expired.id`,
        [now],
      );
      return result.rowCount ?? 0;
    },

    async backlog(now) {
      const { rows } = await db.query<{ queue: string; count: number; oldest: Date }>(
        `select queue, count(*)::integer as count, min(created_at) as oldest
           from ${T.jobs} where done_at is null group by queue`,
      );
      return backlogOf(
        rows.map((row) => ({ queue: row.queue, count: row.count, oldestAgeMs: now.getTime() - row.oldest.getTime() })),
      );
    },
  };
}
