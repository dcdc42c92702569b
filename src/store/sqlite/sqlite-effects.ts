/**
 * What a finished job or a handover step does to its submission (status, EHR references, the
 * handover row, timeline entries, follow-on jobs), in SQLite, inside the caller's transaction.
 */
import type { SQLInputValue } from 'node:sqlite';
import { jsonText, stillHeldSql } from '../store-rules.ts';
import type { Job, JobEffects, NewJob, TimelineEntry } from '../store.ts';
import type { SqliteDatabase } from './sqlite-database.ts';

export type SqliteEffects = ReturnType<typeof sqliteEffects>;

export function sqliteEffects(db: SqliteDatabase) {
  function insertJob(job: NewJob, now: Date): void {
    db.run(
      `insert into jobs (queue, submission_id, payload, attempts, run_at, created_at) values (?, ?, ?, 0, ?, ?)`,
      job.queue,
      job.submissionId,
      jsonText(job.payload),
      job.runAt.getTime(),
      now.getTime(),
    );
  }

  function insertTimeline(submissionId: string, entries: readonly TimelineEntry[]): void {
    for (const entry of entries) {
      db.run(
        'insert into timeline (submission_id, at, kind, message, detail) values (?, ?, ?, ?, ?)',
        submissionId,
        entry.at.getTime(),
        entry.kind,
        entry.message,
        entry.detail === undefined ? null : jsonText(entry.detail),
      );
    }
  }

  function applyEffects(submissionId: string, effects: JobEffects, now: Date): void {
    if (effects.status !== undefined || effects.ehrReferences !== undefined) {
      db.run(
        `update submissions set status = coalesce(?, status), ehr_references = coalesce(?, ehr_references),
           updated_at = ? where id = ?`,
        effects.status ?? null,
        effects.ehrReferences === undefined ? null : jsonText(effects.ehrReferences),
        now.getTime(),
        submissionId,
      );
    }
    if (effects.handover !== undefined) {
      db.run(
        'update handovers set packets_sent_at = ?, task_reference = ? where submission_id = ?',
        effects.handover.packetsSentAt.getTime(),
        effects.handover.taskReference ?? null,
        submissionId,
      );
    }
    insertTimeline(submissionId, effects.timeline ?? []);
    for (const job of effects.enqueue ?? []) insertJob(job, now);
  }

  /** Changes the job only while `job` still holds it, then applies the effects; false when it no longer does. */
  function fencedChange(job: Job, change: string, params: SQLInputValue[], effects: JobEffects, now: Date): boolean {
    // Numbered from after the change's own `?`s: the fence names the owner and the attempt twice.
    const id = `?${params.length + 1}`;
    const owner = `?${params.length + 2}`;
    const attempts = `?${params.length + 3}`;
    const changed = db.run(
      `update jobs set ${change}, attempts = ${attempts}
        where id = ${id} and ${stillHeldSql('jobs', 'queue_leases', owner, attempts)}`,
      ...params,
      Number(job.id),
      job.leaseOwner,
      job.attempts,
    );
    if (changed === 0) return false;
    applyEffects(job.submissionId, effects, now);
    return true;
  }

  return { insertJob, insertTimeline, applyEffects, fencedChange };
}
