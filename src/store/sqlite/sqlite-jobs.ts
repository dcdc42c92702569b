/**
 * The outbox's jobs in SQLite: claimed under a lease on each row, or read under a lease on their
 * whole queue, and finished under the fence of whichever it was (see JobQueue).
 */
import type { SQLInputValue } from 'node:sqlite';
import { inClaimOrder, fromMillisAndText, jobOf, type JobRow } from '../rows.ts';
import { backlogOf, jsonText } from '../store-rules.ts';
import type { Job, JobEffects, JobQueue } from '../store.ts';
import type { SqliteDatabase } from './sqlite-database.ts';
import type { SqliteEffects } from './sqlite-effects.ts';

/** A job a claim may take (queue, now, now): due, unfinished, and under no lease or an expired one. */
const CLAIMABLE = `queue = ? and done_at is null and run_at <= ?
  and (lease_owner is null or lease_expires_at <= ?)`;

export function sqliteJobs(db: SqliteDatabase, effects: SqliteEffects): JobQueue {
  /** One fenced change in a transaction of its own. */
  const fenced = (
    job: Job,
    change: string,
    params: SQLInputValue[],
    jobEffects: JobEffects,
    now: Date,
    waitForDisk = true,
  ) =>
    db.settle(() => db.transaction(() => effects.fencedChange(job, change, params, jobEffects, now), { waitForDisk }));

  return {
    claim(queue, owner, options) {
      const now = options.now.getTime();
      return db.settle(() => {
        if (options.limit <= 0) return [];
        // An idle queue is asked often: a read answers "nothing due" without BEGIN IMMEDIATE,
        // which waits for the write lock (held through the write thread's flush, with the loop
        // standing still) and writes a transaction for nothing. A job committed after this read
        // is found by the next claim, or sooner by its signal (src/store/job-signals.ts).
        const due = db.get<{ id: number }>(`select id from jobs where ${CLAIMABLE} limit 1`, queue, now, now);
        if (due === undefined) return [];
        const rows = db.transaction(
          () =>
            db.all<JobRow>(
              `update jobs set lease_owner = ?, lease_expires_at = ?, attempts = attempts + 1
               where id in (select id from jobs where ${CLAIMABLE} order by run_at, id limit ?)
               returning *`,
              owner,
              now + options.leaseMs,
              queue,
              now,
              now,
              options.limit,
            ),
          // The loop stands still for a flush (milliseconds on this disk): not for a lease.
          { waitForDisk: false },
        );
        return inClaimOrder(rows.map((row) => jobOf(row, fromMillisAndText)));
      });
    },

    readUnderQueueLease(queue, owner, options) {
      const now = options.now.getTime();
      return db.settle(() => {
        if (options.limit <= 0) return [];
        // Take the queue's lease if it is free or expired, or renew ours once half of it has run.
        // Most reads find it ours and fresh: then no transaction at all (BEGIN IMMEDIATE, the
        // write lock and COMMIT are most of what a read would cost).
        const lease = db.get<{ owner: string | null; expires_at: number }>(
          `select owner, expires_at from queue_leases where queue = ?`,
          queue,
        );
        if (lease === undefined) return [];
        let expiresAt = lease.owner === owner && lease.expires_at > now ? lease.expires_at : undefined;
        if (lease.expires_at <= now || (lease.owner === owner && lease.expires_at < now + options.leaseMs / 2)) {
          const taken = db.transaction(
            () =>
              db.run(
                `update queue_leases set owner = ?, expires_at = ?
                  where queue = ? and (expires_at <= ? or (owner = ? and expires_at < ?))`,
                owner,
                now + options.leaseMs,
                queue,
                now,
                owner,
                now + options.leaseMs / 2,
              ),
            // As a claim: the loop stands still for a flush, not for a lease.
            { waitForDisk: false },
          );
          // Not taken: another connection took it since the read above (then expiresAt is already
          // unset), or it is ours and unexpired, which nobody else can take, as the read said.
          if (taken === 1) expiresAt = now + options.leaseMs;
        }
        if (expiresAt === undefined) return [];
        const rows = db.all<JobRow>(
          `select id, queue, submission_id, payload, attempts + 1 as attempts, run_at,
                  ? as lease_owner, ? as lease_expires_at, created_at
             from jobs
            where queue = ? and done_at is null and run_at <= ? and lease_owner is null
              and id not in (select value from json_each(?))
            order by run_at, id
            limit ?`,
          owner,
          expiresAt,
          queue,
          now,
          JSON.stringify(options.skip.map(Number)),
          options.limit,
        );
        return rows.map((row) => jobOf(row, fromMillisAndText));
      });
    },

    releaseQueueLease(queue, owner) {
      return db.settle(() => {
        db.transaction(
          () =>
            db.run(`update queue_leases set owner = null, expires_at = 0 where queue = ? and owner = ?`, queue, owner),
          { waitForDisk: false },
        );
      });
    },

    complete: (job, jobEffects, now, options) =>
      fenced(job, `done_at = ?, outcome = 'completed'`, [now.getTime()], jobEffects, now, options?.waitForDisk),

    completeAll(items, now, options) {
      return db.settle(() =>
        items.length === 0
          ? []
          : db.transaction(
              () =>
                items.map(({ job, effects: jobEffects, note }) =>
                  effects.fencedChange(
                    job,
                    `done_at = ?, outcome = 'completed', completion_note = ?`,
                    [now.getTime(), note === undefined ? null : jsonText(note)],
                    jobEffects,
                    now,
                  ),
                ),
              { waitForDisk: options?.waitForDisk ?? true },
            ),
      );
    },

    retryLater: (job, runAt, jobEffects, now) =>
      fenced(job, 'run_at = ?, lease_owner = null, lease_expires_at = null', [runAt.getTime()], jobEffects, now),

    fail: (job, jobEffects, now) => fenced(job, `done_at = ?, outcome = 'failed'`, [now.getTime()], jobEffects, now),

    reapExpiredLeases(now) {
      return db.settle(() =>
        db.transaction(() =>
          db.run(
            `update jobs set lease_owner = null, lease_expires_at = null
               where done_at is null and lease_owner is not null and lease_expires_at <= ?`,
            now.getTime(),
          ),
        ),
      );
    },

    backlog(now) {
      return db.settle(() =>
        backlogOf(
          db
            .all<{ queue: string; count: number; oldest: number }>(
              `select queue, count(*) as count, min(created_at) as oldest from jobs where done_at is null group by queue`,
            )
            .map((row) => ({ queue: row.queue, count: row.count, oldestAgeMs: now.getTime() - row.oldest })),
        ),
      );
    },
  };
}
