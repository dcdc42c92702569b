/** The audit log in PostgreSQL: append-only (triggers of migration 003 refuse UPDATE, DELETE and TRUNCATE; see AuditLog). */
import { auditEntryOf, auditValues, fromDatesAndJson, type AuditRow } from '../rows.ts';
import type { AuditLog } from '../store.ts';
import type { PostgresDatabase } from './postgres-database.ts';

/** Entries per insert at most: bounds the statement's arrays. */
const MAX_GROUP = 256;

interface PendingEntry {
  readonly values: ReturnType<typeof auditValues>;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export function postgresAudit(db: PostgresDatabase): AuditLog {
  const T = db.tables;
  /*
   * Every /v1 request writes an entry once answered: one round trip (and one commit) each. The
   * entries asked for in one turn of the event loop go in one insert instead, in the order they
   * were asked for; each promise settles with that statement, so an entry is still stored before
   * its recordAudit() resolves.
   */
  let pending: PendingEntry[] = [];

  function insertGroup(): void {
    const group = pending.slice(0, MAX_GROUP);
    pending = pending.slice(MAX_GROUP);
    if (pending.length > 0) setImmediate(insertGroup);
    const column = (index: number) => group.map((entry) => entry.values[index]);
    db.query(
      `insert into ${T.auditLog} (at, client_id, method, route, status, submission_id, request_id)
       select * from unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::integer[], $6::text[], $7::text[])`,
      [column(0), column(1), column(2), column(3), column(4), column(5), column(6)],
    ).then(
      () => {
        for (const entry of group) entry.resolve();
      },
      (error: unknown) => {
        for (const entry of group) entry.reject(error);
      },
    );
  }

  return {
    recordAudit(entry) {
      return new Promise<void>((resolve, reject) => {
        pending.push({ values: auditValues(entry), resolve, reject });
        if (pending.length === 1) setImmediate(insertGroup);
      });
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
