/**
 * Version 2: one row per discharge handover. The primary key on the submission is what makes a
 * redelivered discharge event start nothing twice; the row also says when the packets went out,
 * which referral Task the EHR holds, the municipality's latest answer, and whether the overdue
 * event was raised — so "overdue" is asked of one indexed table, not worked out of timelines.
 */
import type { Migration } from './migration.ts';

export const handovers: Migration = {
  version: 2,
  name: 'handovers: one row per discharge (packets sent, referral Task, acknowledgement, overdue)',
  postgres: `
    create table handovers (
      submission_id   text primary key references submissions (id),
      started_at      timestamptz not null,
      packets_sent_at timestamptz,
      task_reference  text,
      ack_status      text,
      ack_at          timestamptz,
      overdue_at      timestamptz
    );
    create index handovers_unanswered on handovers (packets_sent_at)
      where ack_status is null and overdue_at is null and packets_sent_at is not null;
  `,
  sqlite: `
    create table handovers (
      submission_id   text primary key references submissions (id),
      started_at      integer not null,
      packets_sent_at integer,
      task_reference  text,
      ack_status      text,
      ack_at          integer,
      overdue_at      integer
    ) strict;
    create index handovers_unanswered on handovers (packets_sent_at)
      where ack_status is null and overdue_at is null and packets_sent_at is not null;
  `,
};
