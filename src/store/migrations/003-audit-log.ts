/**
 * Version 3: the audit log — who called what, when, with what outcome; no personal data.
 *
 * Append-only for real, not only by convention: the Store port has no way to change or remove an
 * entry, and the schema refuses it. PostgreSQL: row triggers refuse UPDATE and DELETE and a
 * statement trigger refuses TRUNCATE, for every role including the table's owner (a REVOKE would
 * not bind the owner, which is the role the service connects as). SQLite: triggers refuse UPDATE
 * and DELETE. Only someone who can drop the triggers (a database administrator, deliberately) can
 * change history.
 */
import type { Migration } from './migration.ts';

export const auditLog: Migration = {
  version: 3,
  name: 'audit log (append-only)',
  postgres: `
    create table audit_log (
      seq           bigint generated always as identity primary key,
      at            timestamptz not null,
      client_id     text not null,
      method        text not null,
      route         text not null,
      status        integer not null,
      submission_id text,
      request_id    text not null
    );
    create index audit_log_at on audit_log (at, seq);
    create index audit_log_submission on audit_log (submission_id, seq) where submission_id is not null;

    create function audit_log_refuse_change() returns trigger language plpgsql as $$
    begin
      raise exception 'audit_log is append-only: % refused', tg_op using errcode = 'insufficient_privilege';
    end
    $$;
    create trigger audit_log_append_only before update or delete on audit_log
      for each row execute function audit_log_refuse_change();
    create trigger audit_log_append_only_statement before truncate on audit_log
      for each statement execute function audit_log_refuse_change();
  `,
  sqlite: `
    create table audit_log (
      seq           integer primary key autoincrement,
      at            integer not null,
      client_id     text not null,
      method        text not null,
      route         text not null,
      status        integer not null,
      submission_id text,
      request_id    text not null
    ) strict;
    create index audit_log_at on audit_log (at, seq);
    create index audit_log_submission on audit_log (submission_id, seq) where submission_id is not null;

    create trigger audit_log_no_update before update on audit_log
      begin select raise(abort, 'audit_log is append-only: UPDATE refused'); end;
    create trigger audit_log_no_delete before delete on audit_log
      begin select raise(abort, 'audit_log is append-only: DELETE refused'); end;
  `,
};
