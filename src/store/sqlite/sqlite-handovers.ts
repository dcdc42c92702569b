/** Discharge handovers in SQLite: one row per discharge, each step applied with its effects (see HandoverStore). */
import type { SQLInputValue } from 'node:sqlite';
import { fromMillisAndText, handoverOf, type HandoverRow } from '../rows.ts';
import { noSubmission } from '../store-rules.ts';
import type { HandoverEffects, HandoverStore } from '../store.ts';
import type { SqliteDatabase } from './sqlite-database.ts';
import type { SqliteEffects } from './sqlite-effects.ts';

export function sqliteHandovers(db: SqliteDatabase, effects: SqliteEffects): HandoverStore {
  /** The change, and the effects only if it changed a row: true once. */
  const step = (submissionId: string, handoverEffects: HandoverEffects, now: Date, change: () => number) =>
    db.settle(() =>
      db.transaction(() => {
        if (change() === 0) return false;
        effects.applyEffects(submissionId, handoverEffects, now);
        return true;
      }),
    );
  const handovers = (text: string, ...params: SQLInputValue[]) =>
    db.all<HandoverRow>(text, ...params).map((row) => handoverOf(row, fromMillisAndText));

  return {
    beginHandover: (submissionId, handoverEffects, now) =>
      step(submissionId, handoverEffects, now, () => {
        if (!db.get('select 1 from submissions where id = ?', submissionId)) throw noSubmission(submissionId);
        return db.run(
          'insert into handovers (submission_id, started_at) values (?, ?) on conflict do nothing',
          submissionId,
          now.getTime(),
        );
      }),

    getHandover: (submissionId) =>
      db.settle(() => handovers('select * from handovers where submission_id = ?', submissionId)[0]),

    acknowledgeHandover: (submissionId, ack, handoverEffects, now) =>
      step(submissionId, handoverEffects, now, () =>
        db.run(
          `update handovers set ack_status = ?, ack_at = ?
             where submission_id = ? and packets_sent_at is not null`,
          ack.status,
          ack.at.getTime(),
          submissionId,
        ),
      ),

    overdueHandovers: (sentBefore, limit) =>
      db.settle(() =>
        handovers(
          `select * from handovers
            where ack_status is null and overdue_at is null and task_reference is not null
              and packets_sent_at is not null and packets_sent_at <= ?
            order by packets_sent_at limit ?`,
          sentBefore.getTime(),
          Math.max(0, limit),
        ),
      ),

    markHandoverOverdue: (submissionId, handoverEffects, now) =>
      step(submissionId, handoverEffects, now, () =>
        db.run(
          `update handovers set overdue_at = ?
             where submission_id = ? and overdue_at is null and ack_status is null and packets_sent_at is not null`,
          now.getTime(),
          submissionId,
        ),
      ),

    handoversAwaitingAcknowledgement: () =>
      db.settle(
        () =>
          db.get<{ count: number }>(
            `select count(*) as count from handovers
              where ack_status is null and task_reference is not null and packets_sent_at is not null`,
          )?.count ?? 0,
      ),
  };
}
