/** Discharge handovers in PostgreSQL: one row per discharge, each step applied with its effects (see HandoverStore). */
import type pg from 'pg';
import { fromDatesAndJson, handoverOf, type HandoverRow } from '../rows.ts';
import { noSubmission } from '../store-rules.ts';
import type { HandoverEffects, HandoverStore } from '../store.ts';
import type { PostgresDatabase } from './postgres-database.ts';
import type { PostgresEffects } from './postgres-effects.ts';

export function postgresHandovers(db: PostgresDatabase, effects: PostgresEffects): HandoverStore {
  const T = db.tables;
  /** The change, and the effects only if it changed a row: true once. */
  const step = (
    submissionId: string,
    handoverEffects: HandoverEffects,
    now: Date,
    change: (client: pg.PoolClient) => Promise<number>,
  ) =>
    db.transaction(async (client) => {
      if ((await change(client)) !== 1) return false;
      await effects.applyEffects(client, submissionId, handoverEffects, now);
      return true;
    });
  const handovers = async (text: string, params: unknown[]) =>
    (await db.query<HandoverRow>(text, params)).rows.map((row) => handoverOf(row, fromDatesAndJson));
  const changed = (result: pg.QueryResult) => result.rowCount ?? 0;

  return {
    beginHandover: (submissionId, handoverEffects, now) =>
      step(submissionId, handoverEffects, now, async (client) => {
        const exists = await client.query(`select 1 from ${T.submissions} where id = $1`, [submissionId]);
        if (exists.rowCount === 0) throw noSubmission(submissionId);
        return changed(
          await client.query(
            `insert into ${T.handovers} (submission_id, started_at) values ($1, $2) on conflict do nothing`,
            [submissionId, now],
          ),
        );
      }),

    getHandover: async (submissionId) =>
      (await handovers(`select * from ${T.handovers} where submission_id = $1`, [submissionId]))[0],

    acknowledgeHandover: (submissionId, ack, handoverEffects, now) =>
      step(submissionId, handoverEffects, now, async (client) =>
        changed(
          await client.query(
            `update ${T.handovers} set ack_status = $2, ack_at = $3
              where submission_id = $1 and packets_sent_at is not null`,
            [submissionId, ack.status, ack.at],
          ),
        ),
      ),

    overdueHandovers: (sentBefore, limit) =>
      handovers(
        `select * from ${T.handovers}
          where ack_status is null and overdue_at is null and task_reference is not null
              and packets_sent_at is not null and packets_sent_at <= $1
          order by packets_sent_at limit $2`,
        [sentBefore, Math.max(0, limit)],
      ),

    markHandoverOverdue: (submissionId, handoverEffects, now) =>
      step(submissionId, handoverEffects, now, async (client) =>
        changed(
          await client.query(
            `update ${T.handovers} set overdue_at = $2
              where submission_id = $1 and overdue_at is null and ack_status is null and packets_sent_at is not null`,
            [submissionId, now],
          ),
        ),
      ),

    async handoversAwaitingAcknowledgement() {
      const { rows } = await db.query<{ count: number }>(
        `select count(*)::integer as count from ${T.handovers}
          where ack_status is null and task_reference is not null and packets_sent_at is not null`,
      );
      return rows[0]?.count ?? 0;
    },
  };
}
