/**
 * The message browser's SQL, written once for both dialects: what differs between PostgreSQL
 * and SQLite (placeholders, how a time is passed, reading a JSON field as text, a substring test)
 * is the SqlDialect each adapter passes in. The submissions table is aliased `s` throughout.
 */
import type {
  FAILURE_REASONS,
  ReplayProgress,
  SubmissionCursor,
  SubmissionFilter,
  SubmissionListItem,
  SubmissionStatus,
  SubmissionSummary,
} from './store.ts';

export interface SqlDialect {
  /** The placeholder of the n-th parameter (1-based). */
  placeholder(n: number): string;
  /** A time as the driver takes it. */
  time(at: Date): unknown;
  /** A field of a JSON column, as text. */
  jsonField(column: string, field: string): string;
  /** True when `text` contains `part`, ignoring case. */
  containsIgnoringCase(text: string, part: string): string;
  /** The timeline table's name. */
  readonly timeline: string;
}

/** A statement and its parameters. */
export interface Sql {
  readonly text: string;
  readonly params: unknown[];
}

/** Failures recorded before reasons were kept. */
const UNRECORDED_REASON = 'unrecorded' satisfies (typeof FAILURE_REASONS)[number];

const lastFailed = (d: SqlDialect, expression: string): string =>
  `(select ${expression} from ${d.timeline} t where t.submission_id = s.id and t.kind = 'failed' order by t.id desc limit 1)`;

/** The WHERE conditions of a filter (joined with and), its parameters appended to `params`. */
function filterConditions(filter: SubmissionFilter, d: SqlDialect, params: unknown[]): string {
  const p = (value: unknown): string => {
    params.push(value);
    return d.placeholder(params.length);
  };
  const conditions = ['1 = 1'];
  if (filter.status !== undefined) conditions.push(`s.status = ${p(filter.status)}`);
  if (filter.kind !== undefined) conditions.push(`s.kind = ${p(filter.kind)}`);
  if (filter.source !== undefined) conditions.push(`s.source = ${p(filter.source)}`);
  if (filter.since !== undefined) conditions.push(`s.accepted_at >= ${p(d.time(filter.since))}`);
  if (filter.until !== undefined) conditions.push(`s.accepted_at < ${p(d.time(filter.until))}`);
  if (filter.patientKey !== undefined) conditions.push(`s.patient_key = ${p(filter.patientKey)}`);
  if (filter.failureReason !== undefined) {
    conditions.push(`s.status = 'failed'`, `${failureReasonOf(d)} = ${p(filter.failureReason)}`);
  }
  if (filter.ehrStatus !== undefined) {
    conditions.push(
      `s.status = 'failed'`,
      `${lastFailed(d, d.jsonField('t.detail', 'httpStatus'))} = ${p(String(filter.ehrStatus))}`,
    );
  }
  if (filter.errorText !== undefined) {
    conditions.push(`s.status = 'failed'`, d.containsIgnoringCase(lastFailed(d, 't.message'), p(filter.errorText)));
  }
  return conditions.join(' and ');
}

function failureReasonOf(d: SqlDialect): string {
  return `coalesce(${lastFailed(d, d.jsonField('t.detail', 'reason'))}, '${UNRECORDED_REASON}')`;
}

/** One page of the listing: newest first, after the cursor. */
export function listSql(
  filter: SubmissionFilter,
  page: { after?: SubmissionCursor | undefined; limit: number },
  d: SqlDialect,
  submissions: string,
): Sql {
  const params: unknown[] = [];
  const where = filterConditions(filter, d, params);
  let after = '';
  if (page.after !== undefined) {
    // One parameter per placeholder: SQLite's ? are positional.
    const p = (value: unknown): string => {
      params.push(value);
      return d.placeholder(params.length);
    };
    const { acceptedAt, id } = page.after;
    after = ` and (s.accepted_at < ${p(d.time(acceptedAt))} or (s.accepted_at = ${p(d.time(acceptedAt))} and s.id < ${p(id)}))`;
  }
  params.push(Math.max(0, page.limit));
  return {
    text: `select s.id, s.kind, s.source, s.input_id, s.status, s.accepted_at, s.updated_at,
                  case when s.status = 'failed' then ${failureReasonOf(d)} end as failure_reason
             from ${submissions} s
            where ${where}${after}
            order by s.accepted_at desc, s.id desc
            limit ${d.placeholder(params.length)}`,
    params,
  };
}

export interface ListRow {
  id: string;
  kind: string;
  source: string;
  input_id: string;
  status: string;
  accepted_at: unknown;
  updated_at: unknown;
  failure_reason: string | null;
}

export function listItemOf(row: ListRow, time: (value: unknown) => Date): SubmissionListItem {
  return {
    id: row.id,
    kind: row.kind as SubmissionListItem['kind'],
    source: row.source,
    inputId: row.input_id,
    status: row.status as SubmissionStatus,
    acceptedAt: time(row.accepted_at),
    updatedAt: time(row.updated_at),
    failureReason: row.failure_reason ?? undefined,
  };
}

/** The three statements of the summary; each answers rows the function below reads. */
export function summarySql(d: SqlDialect, submissions: string): { counts: string; failed: string; oldest: string } {
  return {
    counts: `select s.kind, s.status, count(*) as count from ${submissions} s group by s.kind, s.status order by s.kind, s.status`,
    failed: `select ${failureReasonOf(d)} as reason, count(*) as count from ${submissions} s
              where s.status = 'failed' group by 1 order by 1`,
    oldest: `select min(s.accepted_at) as oldest from ${submissions} s where s.status = 'accepted'`,
  };
}

export function summaryOf(
  counts: readonly { kind: string; status: string; count: unknown }[],
  failed: readonly { reason: string; count: unknown }[],
  oldest: unknown,
  time: (value: unknown) => Date,
): SubmissionSummary {
  return {
    counts: counts.map((row) => ({
      kind: row.kind as SubmissionSummary['counts'][number]['kind'],
      status: row.status as SubmissionStatus,
      count: Number(row.count),
    })),
    failedByReason: failed.map((row) => ({ reason: row.reason, count: Number(row.count) })),
    oldestUndeliveredAcceptedAt: oldest === null || oldest === undefined ? undefined : time(oldest),
  };
}

/** The ids a bulk replay would re-queue: matching the filter, failed (whatever else it asks), body kept. */
export function replayableSql(filter: SubmissionFilter, d: SqlDialect, submissions: string): Sql {
  const params: unknown[] = [];
  const where = filterConditions(filter, d, params);
  return {
    text: `select s.id from ${submissions} s
            where ${where} and s.status = 'failed' and s.body_erased_at is null order by s.accepted_at, s.id`,
    params,
  };
}

/** A bulk replay's submissions by status now: those whose 'replayed' entry names it. */
export function progressSql(replayId: string, d: SqlDialect, submissions: string): Sql {
  return {
    text: `select s.status, count(*) as count from ${submissions} s
            where s.id in (select t.submission_id from ${d.timeline} t
                            where t.kind = 'replayed' and ${d.jsonField('t.detail', 'replayId')} = ${d.placeholder(1)})
            group by s.status`,
    params: [replayId],
  };
}

export function progressOf(rows: readonly { status: string; count: unknown }[]): ReplayProgress | undefined {
  if (rows.length === 0) return undefined;
  const progress: Record<SubmissionStatus, number> = { accepted: 0, delivered: 0, failed: 0 };
  for (const row of rows) progress[row.status as SubmissionStatus] = Number(row.count);
  return progress;
}
