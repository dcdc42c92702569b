/** The audit log in SQLite: append-only, its appends group-committed with the accepts (see AuditLog). */
import { auditEntryOf, auditValues, fromMillisAndText, type AuditRow } from '../rows.ts';
import type { AuditEntry, AuditLog } from '../store.ts';
import type { GroupedWrites } from './sqlite-grouped-writes.ts';
import type { SqliteDatabase } from './sqlite-database.ts';

/** One audit entry inside the group's transaction, on whichever connection holds it (see acceptWithin). */
export function insertAudit(db: SqliteDatabase, entry: AuditEntry): void {
  db.run(
    `insert into audit_log (at, client_id, method, route, status, submission_id, request_id)
         values (?, ?, ?, ?, ?, ?, ?)`,
    ...auditValues(entry).map((value) => (value instanceof Date ? value.getTime() : value)),
  );
}

export function sqliteAudit(db: SqliteDatabase, writes: GroupedWrites): AuditLog {
  return {
    recordAudit: (entry) => writes.recordAudit(entry),

    auditTrail(query) {
      return db.settle(() =>
        db
          .all<AuditRow>(
            `select * from audit_log
              where (? is null or at >= ?) and (? is null or submission_id = ?) and seq > ?
              order by seq limit ?`,
            query.since?.getTime() ?? null,
            query.since?.getTime() ?? null,
            query.submissionId ?? null,
            query.submissionId ?? null,
            query.afterSeq ?? 0,
            Math.max(0, query.limit),
          )
          .map((row) => auditEntryOf(row, fromMillisAndText)),
      );
    },
  };
}
