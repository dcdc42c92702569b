/** The audit log in PostgreSQL: append-only (triggers of migration 003 refuse UPDATE, DELETE and TRUNCATE; see AuditLog). */
import { auditEntryOf, auditValues, fromDatesAndJson, type AuditRow } from '../rows.ts';
import type { AuditLog } from '../store.ts';
import type { PostgresDatabase } from './postgres-database.ts';

export function postgresAudit(db: PostgresDatabase): AuditLog {
  const T = db.tables;
  return {
    async recordAudit(entry) {
      await db.query(
        `insert into ${T.auditLog} (at, client_id, method, route, status, submission_id, request_id)
         values ($1, $2, $3, $4, $5, $6, $7)`,
        auditValues(entry),
      );
    },

    async auditTrail(q) {
      const { rows } = await db.query<AuditRow>(
        `select * from ${T.auditLog}
          where ($1::timestamptz is null or at >= $1) and ($2::text is null or submission_id = $2) and seq > $3
          order by seq limit $4`,
        [q.since ?? null, q.submissionId ?? null, q.afterSeq ?? 0, Math.max(0, q.limit)],
      );
      return rows.map((row) => auditEntryOf(row, fromDatesAndJson));
    },
  };
}
