/**
 * Version 1: submissions, their outbox (jobs), the status timeline, and the embedded event log.
 *
 * The same logical schema in both dialects, side by side so a reviewer can compare them line by
 * line. PostgreSQL: timestamptz and jsonb; the statements run with `search_path` set to the
 * store's schema, so names are unqualified. SQLite: STRICT tables, times as INTEGER epoch
 * milliseconds, JSON as TEXT.
 *
 * Enumerations (kind, status, queue, timeline kind) are not CHECK constraints on purpose: adding a
 * value later would need a table rebuild in SQLite; the TypeScript types in store.ts are their
 * single definition.
 *
 * Jobs are kept when finished (done_at + outcome), not deleted: the row says who finished it,
 * after how many attempts, and whether it completed or failed. Claims only look at unfinished
 * jobs through a partial index, so finished rows cost nothing but space.
 */
import type { Migration } from './migration.ts';

export const initial: Migration = {
  version: 1,
  name: 'initial schema: submissions, jobs, timeline, event log, consumer offsets',
  postgres: `
    create table submissions (
      id              text primary key,
      kind            text not null,
      source          text not null,
      input_id        text not null,
      idempotency_key text,
      body_hash       text not null,
      body            jsonb not null,
      patient_key     text not null,
      status          text not null,
      ehr_references  jsonb not null default '[]',
      accepted_at     timestamptz not null,
      updated_at      timestamptz not null,
      constraint submissions_input_id_key unique (source, kind, input_id)
    );
    create unique index submissions_idempotency_key on submissions (source, idempotency_key)
      where idempotency_key is not null;

    create table jobs (
      id               bigint generated always as identity primary key,
      queue            text not null,
      submission_id    text not null references submissions (id),
      payload          jsonb not null,
      attempts         integer not null default 0,
      run_at           timestamptz not null,
      lease_owner      text,
      lease_expires_at timestamptz,
      created_at       timestamptz not null,
      done_at          timestamptz,
      outcome          text
    );
    create index jobs_due on jobs (queue, run_at, id) where done_at is null;
    create index jobs_leased on jobs (lease_expires_at) where done_at is null and lease_owner is not null;
    create index jobs_submission on jobs (submission_id);

    create table timeline (
      id            bigint generated always as identity primary key,
      submission_id text not null references submissions (id),
      at            timestamptz not null,
      kind          text not null,
      message       text not null,
      detail        jsonb
    );
    create index timeline_submission on timeline (submission_id, at, id);

    create table topic_heads (
      topic       text primary key,
      next_offset bigint not null
    );

    create table event_log (
      topic        text not null,
      log_offset   bigint not null,
      record_key   text not null,
      record_value text not null,
      headers      jsonb not null,
      appended_at  timestamptz not null,
      primary key (topic, log_offset)
    );

    create table consumer_offsets (
      group_id    text not null,
      topic       text not null,
      next_offset bigint not null,
      primary key (group_id, topic)
    );
  `,
  sqlite: `
    create table submissions (
      id              text primary key,
      kind            text not null,
      source          text not null,
      input_id        text not null,
      idempotency_key text,
      body_hash       text not null,
      body            text not null,
      patient_key     text not null,
      status          text not null,
      ehr_references  text not null default '[]',
      accepted_at     integer not null,
      updated_at      integer not null,
      constraint submissions_input_id_key unique (source, kind, input_id)
    ) strict;
    create unique index submissions_idempotency_key on submissions (source, idempotency_key)
      where idempotency_key is not null;

    create table jobs (
      id               integer primary key autoincrement,
      queue            text not null,
      submission_id    text not null references submissions (id),
      payload          text not null,
      attempts         integer not null default 0,
      run_at           integer not null,
      lease_owner      text,
      lease_expires_at integer,
      created_at       integer not null,
      done_at          integer,
      outcome          text
    ) strict;
    create index jobs_due on jobs (queue, run_at, id) where done_at is null;
    create index jobs_leased on jobs (lease_expires_at) where done_at is null and lease_owner is not null;
    create index jobs_submission on jobs (submission_id);

    create table timeline (
      id            integer primary key autoincrement,
      submission_id text not null references submissions (id),
      at            integer not null,
      kind          text not null,
      message       text not null,
      detail        text
    ) strict;
    create index timeline_submission on timeline (submission_id, at, id);

    create table topic_heads (
      topic       text primary key,
      next_offset integer not null
    ) strict;

    create table event_log (
      topic        text not null,
      log_offset   integer not null,
      record_key   text not null,
      record_value text not null,
      headers      text not null,
      appended_at  integer not null,
      primary key (topic, log_offset)
    ) strict;

    create table consumer_offsets (
      group_id    text not null,
      topic       text not null,
      next_offset integer not null,
      primary key (group_id, topic)
    ) strict;
  `,
};
