/**
 * The outbox's jobs in PostgreSQL (see JobQueue).
 *
 * - claim() is one statement: `FOR UPDATE SKIP LOCKED` over the due, unleased (or lease-expired)
 *   jobs of a queue, then lease owner + expiry and attempts + 1 on exactly those rows. A replica
 *   never waits for another's claim and never gets a row another claim has locked.
 * - readUnderQueueLease() is one statement too: the queue's lease taken or renewed (only when
 *   due), and the due rows read under it, none of them written.
 * - complete/retryLater/fail update the job only under its fence and apply the effects in the
 *   same statement (one round trip, its own transaction).
 */
import { fromDatesAndJson, inClaimOrder, jobOf, type JobRow } from '../rows.ts';
import { backlogOf, jsonText, stillHeldSql } from '../store-rules.ts';
import type { Job, JobEffects, JobQueue } from '../store.ts';
import { LAZY_COMMIT, type PostgresDatabase } from './postgres-database.ts';
import type { PostgresEffects } from './postgres-effects.ts';

export function postgresJobs(db: PostgresDatabase, effects: PostgresEffects): JobQueue {
  const T = db.tables;
  /** One fenced change and its effects: one statement, its own transaction. */
  const fenced = (job: Job, change: string, params: unknown[], jobEffects: JobEffects, now: Date) =>
    effects.fencedChange(db, job, change, params, jobEffects, now);

  return {
    async claim(queue, owner, options) {
      if (options.limit <= 0) return [];
      // Its commit does not wait for the WAL flush: a claim a crash undoes is only a lease lost.
      const { rows } = await db.query<JobRow>(
        `with ${LAZY_COMMIT}, due as (
           select id from ${T.jobs}
            where queue = $1 and done_at is null and run_at <= $2
              and (lease_owner is null or lease_expires_at <= $2)
            order by run_at, id
            limit $3
            for update skip locked
         )
         update ${T.jobs} as j
            set lease_owner = $4, lease_expires_at = $5, attempts = j.attempts + 1
           from due, lazy_commit
          where j.id = due.id
         returning j.*`,
        [queue, options.now, options.limit, owner, new Date(options.now.getTime() + options.leaseMs)],
      );
      return inClaimOrder(rows.map((row) => jobOf(row, fromDatesAndJson)));
    },

    async readUnderQueueLease(queue, owner, options) {
      if (options.limit <= 0) return [];
      const now = options.now;
      // One statement: take the queue's lease if it is free or expired, or renew ours once half of
      // it has run (otherwise write nothing), then read the due jobs under it, none of them written.
      // Its commit does not wait for the WAL flush: a lease a crash undoes is one nobody holds.
      const { rows } = await db.query<JobRow>(
        `with ${LAZY_COMMIT}, taken as (
           update ${T.queueLeases} as q set owner = $2, expires_at = $4
             from lazy_commit
            where q.queue = $1 and (q.expires_at <= $3 or (q.owner = $2 and q.expires_at < $5))
           returning q.expires_at
         ), held as (
           select expires_at from taken
           union all
           select expires_at from ${T.queueLeases}
            where queue = $1 and owner = $2 and expires_at > $3 and not exists (select 1 from taken)
         )
         select j.id, j.queue, j.submission_id, j.payload, j.attempts + 1 as attempts, j.run_at,
                $2::text as lease_owner, held.expires_at as lease_expires_at, j.created_at
           from ${T.jobs} as j, held
          where j.queue = $1 and j.done_at is null and j.run_at <= $3 and j.lease_owner is null
            and j.id <> all($6::bigint[])
          order by j.run_at, j.id
          limit $7`,
        [
          queue,
          owner,
          now,
          new Date(now.getTime() + options.leaseMs),
          new Date(now.getTime() + options.leaseMs / 2),
          options.skip,
          options.limit,
        ],
      );
      return rows.map((row) => jobOf(row, fromDatesAndJson));
    },

    async releaseQueueLease(queue, owner) {
      await db.query(`update ${T.queueLeases} set owner = null, expires_at = 'epoch' where queue = $1 and owner = $2`, [
        queue,
        owner,
      ]);
    },

    complete: (job, jobEffects, now) => fenced(job, `done_at = $4, outcome = 'completed'`, [now], jobEffects, now),

    async completeAll(items, now, options) {
      if (items.length === 0) return [];
      const entries = items.flatMap(({ job, effects: jobEffects }) =>
        (jobEffects.timeline ?? []).map((entry) => ({ job, entry })),
      );
      const lazy = options?.waitForDisk === false;
      // Set-based and one statement: the fenced update and the timeline entries of exactly the
      // jobs it completed, so a batch of a hundred costs one round trip. `j.id = any($2)` says
      // again what the join says, for the planner: it then fetches the batch's rows by primary
      // key, where without it it hashed every unfinished job in the table to join a few hundred
      // ids (a sequential scan that grows with the table; half of a 500-job marking at 20,000 rows).
      const completeBatch = async (client: Pick<PostgresDatabase, 'query'>): Promise<Set<string>> => {
        const { rows } = await client.query<{ id: string }>(
          `with ${lazy ? `${LAZY_COMMIT},` : ''} done as (
             update ${T.jobs} as j
                set done_at = $1, outcome = 'completed', attempts = u.attempts, completion_note = u.note
               from unnest($2::bigint[], $3::text[], $4::int[], $11::text[]) as u(id, owner, attempts, note)${lazy ? ', lazy_commit' : ''}
              where j.id = any($2::bigint[]) and j.id = u.id
                and ${stillHeldSql('j', T.queueLeases, 'u.owner', 'u.attempts')}
             returning j.id
           ), entries as (
             insert into ${T.timeline} (submission_id, at, kind, message, detail)
             select e.submission_id, e.at, e.kind, e.message, e.detail
               from unnest($5::bigint[], $6::text[], $7::timestamptz[], $8::text[], $9::text[], $10::jsonb[])
                    with ordinality as e(job_id, submission_id, at, kind, message, detail, n)
              where e.job_id in (select id from done)
              order by e.n
           )
           select id from done`,
          [
            now,
            items.map(({ job }) => job.id),
            items.map(({ job }) => job.leaseOwner),
            items.map(({ job }) => job.attempts),
            entries.map(({ job }) => job.id),
            entries.map(({ job }) => job.submissionId),
            entries.map(({ entry }) => entry.at),
            entries.map(({ entry }) => entry.kind),
            entries.map(({ entry }) => entry.message),
            entries.map(({ entry }) => (entry.detail === undefined ? null : jsonText(entry.detail))),
            items.map(({ note }) => (note === undefined ? null : jsonText(note))),
          ],
        );
        return new Set(rows.map((row) => row.id));
      };
      const answers = (completed: Set<string>) => items.map(({ job }) => completed.has(job.id));
      // The statement is its own transaction, unless rarer effects (status, EHR references,
      // follow-on jobs) must be written with it, job by job.
      if (items.every(({ effects: jobEffects }) => onlyTimeline(jobEffects))) return answers(await completeBatch(db));
      return db.transaction(async (client) => {
        const completed = await completeBatch(client);
        for (const { job, effects: jobEffects } of items) {
          if (completed.has(job.id))
            await effects.applyEffects(client, job.submissionId, { ...jobEffects, timeline: [] }, now);
        }
        return answers(completed);
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

/** Effects that are timeline entries and nothing else (any other field, even one added later, is not). */
function onlyTimeline(effects: JobEffects): boolean {
  return Object.entries(effects).every(
    ([name, value]) => name === 'timeline' || value === undefined || (Array.isArray(value) && value.length === 0),
  );
}
