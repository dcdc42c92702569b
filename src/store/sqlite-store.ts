/**
 * The embedded Store: one SQLite file (under DATA_DIR) through node:sqlite, for a single process.
 *
 * - WAL journal, synchronous=FULL (a commit is on disk before accept() resolves), foreign keys
 *   on, a busy timeout so a second process on the same file (the `replay` command beside
 *   `serve`) waits instead of failing.
 * - Every write is one `BEGIN IMMEDIATE` transaction: the write lock is taken up front, so two
 *   connections never both read and then both try to upgrade (which SQLite answers with BUSY at
 *   once, whatever the timeout). node:sqlite is synchronous, so a transaction runs start to end
 *   without yielding to the event loop: nothing else in the process interleaves with it.
 * - accept() and recordAudit() — a write or two per HTTP request — are group-committed: those of
 *   one turn of the event loop share a transaction (one fsync), each in a savepoint of its own
 *   (see grouped()).
 * - Times are INTEGER epoch milliseconds, JSON is TEXT (see migrations/001-initial.ts).
 * - Fencing: a job is held by (lease_owner, attempts) — every claim increments attempts, so even
 *   the same owner claiming the job again after its lease ran out holds a different claim.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { normalize, unavailable } from '../platform/problem.ts';
import { migrations, schemaMigrationsTable } from './migrations/index.ts';
import { patientSubmissionsSql } from './patient-records.ts';
import type {
  AcceptOutcome,
  AuditEntry,
  AuditQuery,
  RetentionCutoffs,
  StoredAuditEntry,
  EventLog,
  HandoverAckStatus,
  HandoverEffects,
  HandoverState,
  Job,
  JobCompletion,
  JobEffects,
  LogRecord,
  NewJob,
  NewSubmission,
  QueueName,
  Store,
  StoredLogRecord,
  Submission,
  BulkReplayOutcome,
  SubmissionCursor,
  SubmissionFilter,
  SubmissionStatus,
  TimelineEntry,
  TimelineKind,
} from './store.ts';
import type { SubmissionKind } from '../kinds/kinds.ts';
import {
  acceptedEntry,
  backlogOf,
  erasedEntry,
  judgeDuplicate,
  jsonText,
  noSubmission,
  replayedEntry,
} from './store-rules.ts';
import {
  listItemOf,
  listSql,
  progressOf,
  progressSql,
  replayableSql,
  summaryOf,
  summarySql,
  type ListRow,
  type SqlDialect,
} from './submission-query.ts';

export interface SqliteStoreOptions {
  /** Path of the database file (its directory is created), or ':memory:' for a throwaway store. */
  readonly file: string;
  /** How long a write waits for another connection's lock before giving up; default 5 s. */
  readonly busyTimeoutMs?: number;
  /** Told, after each group commit (accepts, audit entries), how many writes it held (for tests). */
  readonly onGroupCommit?: (size: number) => void;
}

interface GroupedWrite {
  /** Runs the write inside the open transaction; returns how to tell its caller, once committed. */
  readonly write: () => () => void;
  readonly reject: (error: Error) => void;
}

/** Writes per group commit at most: bounds how long one group holds the event loop and the write lock. */
const MAX_GROUP = 256;

interface SubmissionRow {
  id: string;
  kind: string;
  source: string;
  input_id: string;
  idempotency_key: string | null;
  body_hash: string;
  body: string;
  patient_key: string;
  status: string;
  ehr_references: string;
  accepted_at: number;
  updated_at: number;
  body_erased_at: number | null;
}

interface AuditRow {
  seq: number;
  at: number;
  client_id: string;
  method: string;
  route: string;
  status: number;
  submission_id: string | null;
  request_id: string;
}

interface JobRow {
  id: number;
  queue: string;
  submission_id: string;
  payload: string;
  attempts: number;
  run_at: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  created_at: number;
}

interface TimelineRow {
  at: number;
  kind: string;
  message: string;
  detail: string | null;
}

interface HandoverRow {
  submission_id: string;
  started_at: number;
  packets_sent_at: number | null;
  task_reference: string | null;
  ack_status: string | null;
  ack_at: number | null;
  overdue_at: number | null;
}

interface LogRow {
  topic: string;
  log_offset: number;
  record_key: string;
  record_value: string;
  headers: string;
  appended_at: number;
}

const SQLITE: SqlDialect = {
  placeholder: () => '?',
  time: (at) => at.getTime(),
  jsonField: (column, field) => `cast(json_extract(${column}, '$.${field}') as text)`,
  containsIgnoringCase: (text, part) => `instr(lower(${text}), lower(${part})) > 0`,
  timeline: 'timeline',
};

const fromMillis = (value: unknown): Date => new Date(Number(value));

/** SQLite's primary result codes that mean "try again": BUSY, LOCKED, IOERR, FULL, CANTOPEN. */
const TRANSIENT_CODES = new Set([5, 6, 10, 13, 14]);

export function createSqliteStore(options: SqliteStoreOptions): Store {
  if (options.file !== ':memory:') mkdirSync(dirname(options.file), { recursive: true });
  const db = new DatabaseSync(options.file, {
    enableForeignKeyConstraints: true,
    timeout: options.busyTimeoutMs ?? 5_000,
  });
  db.exec('pragma journal_mode = wal');
  db.exec('pragma synchronous = full');
  db.exec('pragma foreign_keys = on');

  const statements = new Map<string, StatementSync>();
  function sql(text: string): StatementSync {
    let statement = statements.get(text);
    if (!statement) {
      statement = db.prepare(text);
      statements.set(text, statement);
    }
    return statement;
  }
  // The row's shape is the caller's to name: node:sqlite only knows column values.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
  function get<T>(text: string, ...params: SQLInputValue[]): T | undefined {
    return sql(text).get(...params) as T | undefined;
  }
  function all<T>(text: string, ...params: SQLInputValue[]): T[] {
    return sql(text).all(...params) as T[];
  }
  function run(text: string, ...params: SQLInputValue[]): number {
    return Number(sql(text).run(...params).changes);
  }

  function transaction<T>(work: () => T): T {
    db.exec('begin immediate');
    try {
      const result = work();
      db.exec('commit');
      return result;
    } catch (error) {
      if (db.isTransaction) db.exec('rollback');
      throw error;
    }
  }

  /** The port is asynchronous; node:sqlite is not. Errors leave as the one error type. */
  function settle<T>(work: () => T): Promise<T> {
    try {
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(storeError(error));
    }
  }

  function submissionById(id: string): Submission | undefined {
    const row = get<SubmissionRow>('select * from submissions where id = ?', id);
    return row && submissionOf(row);
  }

  function insertJob(job: NewJob, now: Date): void {
    run(
      `insert into jobs (queue, submission_id, payload, attempts, run_at, created_at) values (?, ?, ?, 0, ?, ?)`,
      job.queue,
      job.submissionId,
      jsonText(job.payload),
      job.runAt.getTime(),
      now.getTime(),
    );
  }

  function insertTimeline(submissionId: string, entries: readonly TimelineEntry[]): void {
    for (const entry of entries) {
      run(
        'insert into timeline (submission_id, at, kind, message, detail) values (?, ?, ?, ?, ?)',
        submissionId,
        entry.at.getTime(),
        entry.kind,
        entry.message,
        entry.detail === undefined ? null : jsonText(entry.detail),
      );
    }
  }

  /** replay() inside a transaction the caller holds; a bulk replay's entry names its id. */
  function replayOne(submissionId: string, now: Date, replayId: string | undefined): boolean {
    const changed = run(
      `update submissions set status = 'accepted', updated_at = ?
         where id = ? and status = 'failed' and body_erased_at is null`,
      now.getTime(),
      submissionId,
    );
    if (changed === 0) return false;
    const last = get<{ payload: string }>(
      `select payload from jobs where submission_id = ? and queue = 'ehr-delivery' order by id desc limit 1`,
      submissionId,
    );
    insertJob(
      {
        queue: 'ehr-delivery',
        submissionId,
        payload: last === undefined ? null : (JSON.parse(last.payload) as unknown),
        runAt: now,
      },
      now,
    );
    insertTimeline(submissionId, [replayedEntry(now, replayId)]);
    return true;
  }

  function applyEffects(submissionId: string, effects: JobEffects, now: Date): void {
    if (effects.status !== undefined || effects.ehrReferences !== undefined) {
      run(
        `update submissions set status = coalesce(?, status), ehr_references = coalesce(?, ehr_references),
           updated_at = ? where id = ?`,
        effects.status ?? null,
        effects.ehrReferences === undefined ? null : jsonText(effects.ehrReferences),
        now.getTime(),
        submissionId,
      );
    }
    if (effects.handover !== undefined) {
      run(
        'update handovers set packets_sent_at = ?, task_reference = ? where submission_id = ?',
        effects.handover.packetsSentAt.getTime(),
        effects.handover.taskReference ?? null,
        submissionId,
      );
    }
    insertTimeline(submissionId, effects.timeline ?? []);
    for (const job of effects.enqueue ?? []) insertJob(job, now);
  }

  /** Changes the job only while `job` still holds it; then applies the effects. */
  function fenced(job: Job, change: string, params: SQLInputValue[], effects: JobEffects, now: Date): boolean {
    return transaction(() => fencedChange(job, change, params, effects, now));
  }

  /** fenced() inside a transaction the caller holds. */
  function fencedChange(job: Job, change: string, params: SQLInputValue[], effects: JobEffects, now: Date): boolean {
    const changed = run(
      `update jobs set ${change} where id = ? and lease_owner = ? and attempts = ? and done_at is null`,
      ...params,
      Number(job.id),
      job.leaseOwner,
      job.attempts,
    );
    if (changed === 0) return false;
    applyEffects(job.submissionId, effects, now);
    return true;
  }

  /** One accept inside a transaction the caller holds. */
  function acceptOne(submission: NewSubmission, firstJob: Omit<NewJob, 'submissionId'>): AcceptOutcome {
    const inserted = get<SubmissionRow>(
      `insert into submissions (id, kind, source, input_id, idempotency_key, body_hash, body, patient_key,
           status, ehr_references, accepted_at, updated_at)
         values (?, ?, ?, ?, ?, ?, ?, ?, 'accepted', '[]', ?, ?)
         on conflict do nothing
         returning *`,
      submission.id,
      submission.kind,
      submission.source,
      submission.inputId,
      submission.idempotencyKey ?? null,
      submission.bodyHash,
      jsonText(submission.body),
      submission.patientKey,
      submission.acceptedAt.getTime(),
      submission.acceptedAt.getTime(),
    );
    if (inserted) {
      insertJob({ ...firstJob, submissionId: submission.id }, submission.acceptedAt);
      insertTimeline(submission.id, [acceptedEntry(submission.acceptedAt, firstJob.queue)]);
      return { outcome: 'created', submission: submissionOf(inserted) };
    }
    const byKey =
      submission.idempotencyKey === undefined
        ? undefined
        : get<SubmissionRow>(
            'select * from submissions where source = ? and idempotency_key = ?',
            submission.source,
            submission.idempotencyKey,
          );
    const byInput = get<SubmissionRow>(
      'select * from submissions where source = ? and kind = ? and input_id = ?',
      submission.source,
      submission.kind,
      submission.inputId,
    );
    const outcome = judgeDuplicate(submission, byKey && submissionOf(byKey), byInput && submissionOf(byInput));
    if (outcome) return outcome;
    throw new Error(`submission id ${submission.id} is already taken by another submission`);
  }

  /*
   * Group commit. With synchronous = full every COMMIT waits for the disk (one fsync), and this
   * disk manages a few hundred of those a second: one transaction per accept (and another per
   * audit entry) capped intake there. Writes asked for in the same turn of the event loop are
   * queued and run in one BEGIN IMMEDIATE … COMMIT, each inside its own SAVEPOINT, so a failing
   * write rolls back only its own rows and rejects only its own promise, and each sees the writes
   * before it in the group (two identical accepts: created, then existing). Promises settle only
   * after the COMMIT returned: nothing is acknowledged that is not on disk.
   */
  const pendingWrites: GroupedWrite[] = [];

  function grouped<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      pendingWrites.push({
        write() {
          db.exec('savepoint grouped');
          try {
            const result = work();
            db.exec('release grouped');
            return () => {
              resolve(result);
            };
          } catch (error) {
            // Some errors (disk full, I/O) make SQLite roll back the whole transaction: then all fail.
            if (!db.isTransaction) throw error;
            db.exec('rollback to grouped');
            db.exec('release grouped');
            return () => {
              reject(storeError(error));
            };
          }
        },
        reject,
      });
      if (pendingWrites.length === 1) setImmediate(flushWrites);
    });
  }

  function flushWrites(): void {
    const group = pendingWrites.splice(0, MAX_GROUP);
    if (group.length === 0) return;
    if (pendingWrites.length > 0) setImmediate(flushWrites);
    let settlements: (() => void)[];
    try {
      settlements = transaction(() => group.map((pending) => pending.write()));
    } catch (error) {
      // BEGIN or COMMIT failed (or SQLite gave up the whole transaction): none of them is stored.
      for (const pending of group) pending.reject(storeError(error));
      return;
    }
    for (const settle of settlements) settle();
    options.onGroupCommit?.(group.length);
  }

  const log: EventLog = {
    append(records: readonly LogRecord[], now: Date): Promise<number[]> {
      return settle(() =>
        transaction(() =>
          records.map((record) => {
            const head = get<{ next_offset: number }>(
              `insert into topic_heads (topic, next_offset) values (?, 1)
                 on conflict (topic) do update set next_offset = topic_heads.next_offset + 1
                 returning next_offset`,
              record.topic,
            );
            const offset = (head?.next_offset ?? 0) - 1;
            run(
              `insert into event_log (topic, log_offset, record_key, record_value, headers, appended_at)
                 values (?, ?, ?, ?, ?, ?)`,
              record.topic,
              offset,
              record.key,
              record.value,
              jsonText(record.headers),
              now.getTime(),
            );
            return offset;
          }),
        ),
      );
    },

    read(topic: string, fromOffset: number, limit: number): Promise<StoredLogRecord[]> {
      return settle(() =>
        all<LogRow>(
          'select * from event_log where topic = ? and log_offset >= ? order by log_offset limit ?',
          topic,
          fromOffset,
          Math.max(0, limit),
        ).map((row) => ({
          topic: row.topic,
          offset: row.log_offset,
          key: row.record_key,
          value: row.record_value,
          headers: JSON.parse(row.headers) as Record<string, string>,
          appendedAt: new Date(row.appended_at),
        })),
      );
    },

    committedOffset(group: string, topic: string): Promise<number> {
      return settle(
        () =>
          get<{ next_offset: number }>(
            'select next_offset from consumer_offsets where group_id = ? and topic = ?',
            group,
            topic,
          )?.next_offset ?? 0,
      );
    },

    commitOffset(group: string, topic: string, nextOffset: number): Promise<void> {
      return settle(() => {
        transaction(() =>
          run(
            `insert into consumer_offsets (group_id, topic, next_offset) values (?, ?, ?)
               on conflict (group_id, topic) do update set next_offset = excluded.next_offset`,
            group,
            topic,
            nextOffset,
          ),
        );
      });
    },
  };

  return {
    log,

    migrate(): Promise<void> {
      return settle(() => {
        transaction(() => {
          db.exec(schemaMigrationsTable.sqlite);
        });
        for (const migration of migrations) {
          transaction(() => {
            // Asked inside the write lock: another process may have applied it a moment ago.
            if (get('select 1 from schema_migrations where version = ?', migration.version)) return;
            db.exec(migration.sqlite);
            run(
              'insert into schema_migrations (version, name, applied_at) values (?, ?, ?)',
              migration.version,
              migration.name,
              Date.now(),
            );
          });
        }
      });
    },

    accept(submission: NewSubmission, firstJob: Omit<NewJob, 'submissionId'>): Promise<AcceptOutcome> {
      return grouped(() => acceptOne(submission, firstJob));
    },

    getSubmission(id: string): Promise<Submission | undefined> {
      return settle(() => submissionById(id));
    },

    findSubmission(source: string, kind: SubmissionKind, inputId: string): Promise<Submission | undefined> {
      return settle(() => {
        const row = get<SubmissionRow>(
          'select * from submissions where source = ? and kind = ? and input_id = ?',
          source,
          kind,
          inputId,
        );
        return row && submissionOf(row);
      });
    },

    patientSubmissions(patientKey: string, kinds: readonly SubmissionKind[], since: Date): Promise<Submission[]> {
      return settle(() => {
        const { text, params } = patientSubmissionsSql(patientKey, kinds, since, SQLITE, 'submissions');
        return all<SubmissionRow>(text, ...(params as SQLInputValue[])).map(submissionOf);
      });
    },

    timeline(submissionId: string): Promise<TimelineEntry[]> {
      return settle(() =>
        all<TimelineRow>(
          'select at, kind, message, detail from timeline where submission_id = ? order by at, id',
          submissionId,
        ).map(timelineEntryOf),
      );
    },

    appendTimeline(submissionId: string, entries: readonly TimelineEntry[]): Promise<void> {
      return settle(() => {
        transaction(() => {
          if (!get('select 1 from submissions where id = ?', submissionId)) throw noSubmission(submissionId);
          insertTimeline(submissionId, entries);
        });
      });
    },

    claim(queue: QueueName, owner: string, options: { now: Date; leaseMs: number; limit: number }): Promise<Job[]> {
      const now = options.now.getTime();
      return settle(() => {
        if (options.limit <= 0) return [];
        const rows = transaction(() =>
          all<JobRow>(
            `update jobs set lease_owner = ?, lease_expires_at = ?, attempts = attempts + 1
               where id in (
                 select id from jobs
                  where queue = ? and done_at is null and run_at <= ?
                    and (lease_owner is null or lease_expires_at <= ?)
                  order by run_at, id
                  limit ?)
               returning *`,
            owner,
            now + options.leaseMs,
            queue,
            now,
            now,
            options.limit,
          ),
        );
        return rows.sort((a, b) => a.run_at - b.run_at || a.id - b.id).map(jobOf);
      });
    },

    complete(job: Job, effects: JobEffects, now: Date): Promise<boolean> {
      return settle(() => fenced(job, `done_at = ?, outcome = 'completed'`, [now.getTime()], effects, now));
    },

    completeAll(items: readonly JobCompletion[], now: Date): Promise<boolean[]> {
      return settle(() =>
        items.length === 0
          ? []
          : transaction(() =>
              items.map(({ job, effects }) =>
                fencedChange(job, `done_at = ?, outcome = 'completed'`, [now.getTime()], effects, now),
              ),
            ),
      );
    },

    retryLater(job: Job, runAt: Date, effects: JobEffects, now: Date): Promise<boolean> {
      return settle(() =>
        fenced(job, 'run_at = ?, lease_owner = null, lease_expires_at = null', [runAt.getTime()], effects, now),
      );
    },

    fail(job: Job, effects: JobEffects, now: Date): Promise<boolean> {
      return settle(() => fenced(job, `done_at = ?, outcome = 'failed'`, [now.getTime()], effects, now));
    },

    reapExpiredLeases(now: Date): Promise<number> {
      return settle(() =>
        transaction(() =>
          run(
            `update jobs set lease_owner = null, lease_expires_at = null
               where done_at is null and lease_owner is not null and lease_expires_at <= ?`,
            now.getTime(),
          ),
        ),
      );
    },

    replay(submissionId: string, now: Date): Promise<boolean> {
      return settle(() => transaction(() => replayOne(submissionId, now, undefined)));
    },

    listSubmissions(filter: SubmissionFilter, page: { after?: SubmissionCursor | undefined; limit: number }) {
      return settle(() => {
        const { text, params } = listSql(filter, page, SQLITE, 'submissions');
        return all<ListRow>(text, ...(params as SQLInputValue[])).map((row) => listItemOf(row, fromMillis));
      });
    },

    summarizeSubmissions() {
      return settle(() => {
        const statements = summarySql(SQLITE, 'submissions');
        return summaryOf(
          all<{ kind: string; status: string; count: number }>(statements.counts),
          all<{ reason: string; count: number }>(statements.failed),
          get<{ oldest: number | null }>(statements.oldest)?.oldest,
          fromMillis,
        );
      });
    },

    countReplayable(filter: SubmissionFilter) {
      return settle(() => {
        const { text, params } = replayableSql(filter, SQLITE, 'submissions');
        return all<{ id: string }>(text, ...(params as SQLInputValue[])).length;
      });
    },

    replayMatching(filter: SubmissionFilter, options: { replayId: string; maximum: number; now: Date }) {
      return settle(() =>
        transaction((): BulkReplayOutcome => {
          const { text, params } = replayableSql(filter, SQLITE, 'submissions');
          const ids = all<{ id: string }>(text, ...(params as SQLInputValue[])).map((row) => row.id);
          if (ids.length > options.maximum) return { outcome: 'too-many', count: ids.length };
          let count = 0;
          for (const id of ids) if (replayOne(id, options.now, options.replayId)) count += 1;
          return { outcome: 'replayed', count };
        }),
      );
    },

    replayProgress(replayId: string) {
      return settle(() => {
        const { text, params } = progressSql(replayId, SQLITE, 'submissions');
        return progressOf(all<{ status: string; count: number }>(text, ...(params as SQLInputValue[])));
      });
    },

    beginHandover(submissionId: string, effects: HandoverEffects, now: Date): Promise<boolean> {
      return settle(() =>
        transaction(() => {
          if (!get('select 1 from submissions where id = ?', submissionId)) throw noSubmission(submissionId);
          const inserted = run(
            'insert into handovers (submission_id, started_at) values (?, ?) on conflict do nothing',
            submissionId,
            now.getTime(),
          );
          if (inserted === 0) return false;
          applyEffects(submissionId, effects, now);
          return true;
        }),
      );
    },

    getHandover(submissionId: string): Promise<HandoverState | undefined> {
      return settle(() => {
        const row = get<HandoverRow>('select * from handovers where submission_id = ?', submissionId);
        return row && handoverOf(row);
      });
    },

    acknowledgeHandover(submissionId, ack, effects, now): Promise<boolean> {
      return settle(() =>
        transaction(() => {
          const changed = run(
            `update handovers set ack_status = ?, ack_at = ?
               where submission_id = ? and packets_sent_at is not null`,
            ack.status,
            ack.at.getTime(),
            submissionId,
          );
          if (changed === 0) return false;
          applyEffects(submissionId, effects, now);
          return true;
        }),
      );
    },

    overdueHandovers(sentBefore: Date, limit: number): Promise<HandoverState[]> {
      return settle(() =>
        all<HandoverRow>(
          `select * from handovers
            where ack_status is null and overdue_at is null and task_reference is not null
              and packets_sent_at is not null and packets_sent_at <= ?
            order by packets_sent_at limit ?`,
          sentBefore.getTime(),
          Math.max(0, limit),
        ).map(handoverOf),
      );
    },

    markHandoverOverdue(submissionId: string, effects: HandoverEffects, now: Date): Promise<boolean> {
      return settle(() =>
        transaction(() => {
          const changed = run(
            `update handovers set overdue_at = ?
               where submission_id = ? and overdue_at is null and ack_status is null and packets_sent_at is not null`,
            now.getTime(),
            submissionId,
          );
          if (changed === 0) return false;
          applyEffects(submissionId, effects, now);
          return true;
        }),
      );
    },

    handoversAwaitingAcknowledgement(): Promise<number> {
      return settle(
        () =>
          get<{ count: number }>(
            `select count(*) as count from handovers
              where ack_status is null and task_reference is not null and packets_sent_at is not null`,
          )?.count ?? 0,
      );
    },

    recordAudit(entry: AuditEntry): Promise<void> {
      return grouped(() => {
        run(
          `insert into audit_log (at, client_id, method, route, status, submission_id, request_id)
               values (?, ?, ?, ?, ?, ?, ?)`,
          entry.at.getTime(),
          entry.clientId,
          entry.method,
          entry.route,
          entry.status,
          entry.submissionId ?? null,
          entry.requestId,
        );
      });
    },

    auditTrail(query: AuditQuery): Promise<StoredAuditEntry[]> {
      return settle(() =>
        all<AuditRow>(
          `select * from audit_log
            where (? is null or at >= ?) and (? is null or submission_id = ?) and seq > ?
            order by seq limit ?`,
          query.since?.getTime() ?? null,
          query.since?.getTime() ?? null,
          query.submissionId ?? null,
          query.submissionId ?? null,
          query.afterSeq ?? 0,
          Math.max(0, query.limit),
        ).map(auditEntryOf),
      );
    },

    erasePersonalData(cutoffs: RetentionCutoffs, now: Date): Promise<string[]> {
      return settle(() => {
        if (cutoffs.limit <= 0) return [];
        return transaction(() => {
          const erased = all<{ id: string }>(
            `update submissions set body = 'null', body_erased_at = ?
              where id in (
                select s.id from submissions s
                 where s.body_erased_at is null
                   and ((s.status = 'delivered' and s.updated_at <= ?) or (s.status = 'failed' and s.updated_at <= ?))
                   and not exists (select 1 from jobs j where j.submission_id = s.id and j.done_at is null)
                 order by s.updated_at
                 limit ?)
              returning id`,
            now.getTime(),
            cutoffs.deliveredBefore.getTime(),
            cutoffs.failedBefore.getTime(),
            cutoffs.limit,
          ).map((row) => row.id);
          for (const id of erased) {
            insertTimeline(id, [erasedEntry(now)]);
            // Finished jobs keep their payloads otherwise: a handover packet's event names the patient.
            run(`update jobs set payload = 'null' where submission_id = ? and done_at is not null`, id);
          }
          return erased;
        });
      });
    },

    backlog(now: Date) {
      return settle(() =>
        backlogOf(
          all<{ queue: string; count: number; oldest: number }>(
            `select queue, count(*) as count, min(created_at) as oldest from jobs where done_at is null group by queue`,
          ).map((row) => ({ queue: row.queue, count: row.count, oldestAgeMs: now.getTime() - row.oldest })),
        ),
      );
    },

    ping(): Promise<void> {
      return settle(() => {
        get('select 1');
      });
    },

    close(): Promise<void> {
      return settle(() => {
        // Writes already asked for are made, not dropped with the connection.
        while (pendingWrites.length > 0) flushWrites();
        statements.clear();
        if (db.isOpen) db.close();
      });
    },
  };
}

function submissionOf(row: SubmissionRow): Submission {
  return {
    id: row.id,
    kind: row.kind as SubmissionKind,
    source: row.source,
    inputId: row.input_id,
    idempotencyKey: row.idempotency_key ?? undefined,
    bodyHash: row.body_hash,
    body: JSON.parse(row.body) as unknown,
    patientKey: row.patient_key,
    status: row.status as SubmissionStatus,
    acceptedAt: new Date(row.accepted_at),
    updatedAt: new Date(row.updated_at),
    ehrReferences: JSON.parse(row.ehr_references) as string[],
    bodyErasedAt: row.body_erased_at === null ? undefined : new Date(row.body_erased_at),
  };
}

function auditEntryOf(row: AuditRow): StoredAuditEntry {
  return {
    seq: row.seq,
    at: new Date(row.at),
    clientId: row.client_id,
    method: row.method,
    route: row.route,
    status: row.status,
    ...(row.submission_id === null ? {} : { submissionId: row.submission_id }),
    requestId: row.request_id,
  };
}

function handoverOf(row: HandoverRow): HandoverState {
  return {
    submissionId: row.submission_id,
    startedAt: new Date(row.started_at),
    packetsSentAt: row.packets_sent_at === null ? undefined : new Date(row.packets_sent_at),
    taskReference: row.task_reference ?? undefined,
    acknowledgement:
      row.ack_status === null || row.ack_at === null
        ? undefined
        : { status: row.ack_status as HandoverAckStatus, at: new Date(row.ack_at) },
    overdueAt: row.overdue_at === null ? undefined : new Date(row.overdue_at),
  };
}

function jobOf(row: JobRow): Job {
  return {
    id: String(row.id),
    queue: row.queue as QueueName,
    submissionId: row.submission_id,
    payload: JSON.parse(row.payload) as unknown,
    attempts: row.attempts,
    runAt: new Date(row.run_at),
    leaseOwner: row.lease_owner ?? '',
    leaseExpiresAt: new Date(row.lease_expires_at ?? 0),
    createdAt: new Date(row.created_at),
  };
}

function timelineEntryOf(row: TimelineRow): TimelineEntry {
  const entry = { at: new Date(row.at), kind: row.kind as TimelineKind, message: row.message };
  return row.detail === null ? entry : { ...entry, detail: JSON.parse(row.detail) as Record<string, unknown> };
}

function storeError(error: unknown): Error {
  const code = (error as { errcode?: unknown } | null)?.errcode;
  if (typeof code === 'number' && TRANSIENT_CODES.has(code & 0xff)) {
    const problem = unavailable('The embedded database is busy or cannot be written; try again.');
    return Object.assign(problem, { cause: error });
  }
  return normalize(error);
}
