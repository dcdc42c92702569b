/**
 * The tables' rows as both adapters read them, and their conversion to the port's types. The
 * adapters differ only in how a column decodes — SQLite hands back epoch milliseconds and JSON as
 * text, pg hands back Dates and parsed JSON (and bigint columns as strings) — so each passes its
 * Decoding and the conversion is written once.
 */
import type { SubmissionKind } from '../kinds/kinds.ts';
import type {
  AuditEntry,
  HandoverAckStatus,
  HandoverState,
  Job,
  QueueName,
  StoredAuditEntry,
  StoredLogRecord,
  Submission,
  SubmissionStatus,
  TimelineEntry,
  TimelineKind,
} from './store.ts';

/** How a driver's column values become the port's types. */
export interface Decoding {
  /** A time column (INTEGER epoch ms in SQLite, timestamptz in PostgreSQL). */
  readonly time: (value: unknown) => Date;
  /** A JSON column (TEXT in SQLite, jsonb in PostgreSQL). */
  readonly json: (value: unknown) => unknown;
}

export const fromMillisAndText: Decoding = {
  time: (value) => new Date(Number(value)),
  json: (value) => JSON.parse(String(value)) as unknown,
};

export const fromDatesAndJson: Decoding = {
  time: (value) => (value instanceof Date ? value : new Date(String(value))),
  json: (value) => value,
};

export interface SubmissionRow {
  id: string;
  kind: string;
  source: string;
  input_id: string;
  idempotency_key: string | null;
  body_hash: string;
  body: unknown;
  patient_key: string;
  status: string;
  ehr_references: unknown;
  accepted_at: unknown;
  updated_at: unknown;
  body_erased_at: unknown;
}

export interface AuditRow {
  seq: number | string;
  at: unknown;
  client_id: string;
  method: string;
  route: string;
  status: number;
  submission_id: string | null;
  request_id: string;
}

export interface JobRow {
  id: number | string;
  queue: string;
  submission_id: string;
  payload: unknown;
  attempts: number;
  run_at: unknown;
  lease_owner: string | null;
  lease_expires_at: unknown;
  created_at: unknown;
}

export interface TimelineRow {
  at: unknown;
  kind: string;
  message: string;
  detail: unknown;
}

export interface HandoverRow {
  submission_id: string;
  started_at: unknown;
  packets_sent_at: unknown;
  task_reference: string | null;
  ack_status: string | null;
  ack_at: unknown;
  overdue_at: unknown;
}

export interface LogRow {
  topic: string;
  log_offset: number | string;
  record_key: string;
  record_value: string;
  headers: unknown;
  appended_at: unknown;
}

/** An audit entry's column values, in the order of the audit_log insert both adapters write. */
export function auditValues(entry: AuditEntry): [Date, string, string, string, number, string | null, string] {
  return [
    entry.at,
    entry.clientId,
    entry.method,
    entry.route,
    entry.status,
    entry.submissionId ?? null,
    entry.requestId,
  ];
}

/** A nullable time column: undefined where it is null. */
function optionalTime(value: unknown, decode: Decoding): Date | undefined {
  return value === null || value === undefined ? undefined : decode.time(value);
}

export function submissionOf(row: SubmissionRow, decode: Decoding): Submission {
  return {
    id: row.id,
    kind: row.kind as SubmissionKind,
    source: row.source,
    inputId: row.input_id,
    idempotencyKey: row.idempotency_key ?? undefined,
    bodyHash: row.body_hash,
    body: decode.json(row.body),
    patientKey: row.patient_key,
    status: row.status as SubmissionStatus,
    acceptedAt: decode.time(row.accepted_at),
    updatedAt: decode.time(row.updated_at),
    ehrReferences: decode.json(row.ehr_references) as string[],
    bodyErasedAt: optionalTime(row.body_erased_at, decode),
  };
}

export function auditEntryOf(row: AuditRow, decode: Decoding): StoredAuditEntry {
  return {
    seq: Number(row.seq),
    at: decode.time(row.at),
    clientId: row.client_id,
    method: row.method,
    route: row.route,
    status: row.status,
    ...(row.submission_id === null ? {} : { submissionId: row.submission_id }),
    requestId: row.request_id,
  };
}

export function handoverOf(row: HandoverRow, decode: Decoding): HandoverState {
  const ackAt = optionalTime(row.ack_at, decode);
  return {
    submissionId: row.submission_id,
    startedAt: decode.time(row.started_at),
    packetsSentAt: optionalTime(row.packets_sent_at, decode),
    taskReference: row.task_reference ?? undefined,
    acknowledgement:
      row.ack_status === null || ackAt === undefined
        ? undefined
        : { status: row.ack_status as HandoverAckStatus, at: ackAt },
    overdueAt: optionalTime(row.overdue_at, decode),
  };
}

export function jobOf(row: JobRow, decode: Decoding): Job {
  return {
    id: String(row.id),
    queue: row.queue as QueueName,
    submissionId: row.submission_id,
    payload: decode.json(row.payload),
    attempts: row.attempts,
    runAt: decode.time(row.run_at),
    leaseOwner: row.lease_owner ?? '',
    leaseExpiresAt: optionalTime(row.lease_expires_at, decode) ?? new Date(0),
    createdAt: decode.time(row.created_at),
  };
}

/** Claimed jobs in the order the queue hands them out: due first, then oldest. */
export function inClaimOrder(jobs: Job[]): Job[] {
  return jobs.sort((a, b) => a.runAt.getTime() - b.runAt.getTime() || Number(a.id) - Number(b.id));
}

export function timelineEntryOf(row: TimelineRow, decode: Decoding): TimelineEntry {
  const entry = { at: decode.time(row.at), kind: row.kind as TimelineKind, message: row.message };
  return row.detail === null ? entry : { ...entry, detail: decode.json(row.detail) as Record<string, unknown> };
}

export function logRecordOf(row: LogRow, decode: Decoding): StoredLogRecord {
  return {
    topic: row.topic,
    offset: Number(row.log_offset),
    key: row.record_key,
    value: row.record_value,
    headers: decode.json(row.headers) as Record<string, string>,
    appendedAt: decode.time(row.appended_at),
  };
}
