/**
 * The production Store: PostgreSQL through pg, shared by any number of replicas.
 *
 * - Everything lives in one schema (default hit_bridge; tests use a fresh random one), and every
 *   statement names it, so the pool may be shared with other users of the database.
 * - accept() and claim() are single statements (data-modifying CTEs): atomic without a
 *   BEGIN/COMMIT round trip, and holding row locks for one statement only.
 * - claim(): `FOR UPDATE SKIP LOCKED` over the due, unleased (or lease-expired) jobs of a queue,
 *   then lease owner + expiry and attempts + 1 on exactly those rows. A replica never waits for
 *   another's claim and never gets a row another claim has locked.
 * - Fencing: a job is held by (lease_owner, attempts) — every claim increments attempts, so even
 *   the same owner claiming the job again after its lease ran out holds a different claim.
 *   complete/retryLater/fail update the job only under that fence, then apply the effects in the
 *   same transaction.
 * - Event log offsets: a row per topic in topic_heads, bumped with an upsert that locks it until
 *   commit. Appenders of one topic take turns, so offsets are gap-free and commit in offset
 *   order: a reader never sees offset n+1 before n. Several topics are locked in sorted order.
 * - migrate(): under a session advisory lock (per schema), each version in its own transaction.
 * - close() does not end the pool: the pool belongs to whoever created it (the composition root).
 */
import pg from 'pg';
import { badRequest, normalize, Problem, unavailable } from '../platform/problem.ts';
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

export interface PostgresStoreOptions {
  readonly pool: pg.Pool;
  /** Schema holding the tables (created by migrate() if missing); default 'hit_bridge'. */
  readonly schema?: string;
}

interface SubmissionRow {
  id: string;
  kind: string;
  source: string;
  input_id: string;
  idempotency_key: string | null;
  body_hash: string;
  body: unknown;
  patient_key: string;
  status: string;
  ehr_references: string[];
  accepted_at: Date;
  updated_at: Date;
  body_erased_at: Date | null;
}

interface AuditRow {
  seq: string;
  at: Date;
  client_id: string;
  method: string;
  route: string;
  status: number;
  submission_id: string | null;
  request_id: string;
}

interface JobRow {
  id: string;
  queue: string;
  submission_id: string;
  payload: unknown;
  attempts: number;
  run_at: Date;
  lease_owner: string | null;
  lease_expires_at: Date | null;
  created_at: Date;
}

interface TimelineRow {
  at: Date;
  kind: string;
  message: string;
  detail: Record<string, unknown> | null;
}

interface HandoverRow {
  submission_id: string;
  started_at: Date;
  packets_sent_at: Date | null;
  task_reference: string | null;
  ack_status: string | null;
  ack_at: Date | null;
  overdue_at: Date | null;
}

interface LogRow {
  topic: string;
  log_offset: string;
  record_key: string;
  record_value: string;
  headers: Record<string, string>;
  appended_at: Date;
}

type Queryable = Pick<pg.PoolClient, 'query'>;

/** First key of the two-key advisory lock taken by migrate(); the second is the schema's hash. */
const MIGRATE_LOCK = "hashtext('hit-bridge.migrate')";

/** SQLSTATEs that mean "try again": connection lost, server shutting down, overloaded, lock conflicts. */
const TRANSIENT_SQLSTATE = /^(08|53|57P0[123]|40001|40P01|55P03)/;
const TRANSIENT_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

export function createPostgresStore(options: PostgresStoreOptions): Store {
  const { pool } = options;
  const schema = options.schema ?? 'hit_bridge';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw badRequest(`The store's schema name "${schema}" must be lower-case letters, digits and _ (at most 63).`);
  }
  const quoted = `"${schema}"`;
  const T = {
    submissions: `${quoted}.submissions`,
    jobs: `${quoted}.jobs`,
    timeline: `${quoted}.timeline`,
    topicHeads: `${quoted}.topic_heads`,
    eventLog: `${quoted}.event_log`,
    consumerOffsets: `${quoted}.consumer_offsets`,
    schemaMigrations: `${quoted}.schema_migrations`,
    handovers: `${quoted}.handovers`,
    auditLog: `${quoted}.audit_log`,
  };

  const dialect: SqlDialect = {
    placeholder: (n) => `$${n}`,
    time: (at) => at,
    jsonField: (column, field) => `${column}->>'${field}'`,
    containsIgnoringCase: (text, part) => `strpos(lower(${text}), lower(${part})) > 0`,
    timeline: T.timeline,
  };

  async function query<R extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    try {
      return await pool.query<R>(text, params);
    } catch (error) {
      throw storeError(error);
    }
  }

  async function withClient<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw storeError(error);
    }
    let broken: Error | undefined;
    try {
      return await work(client);
    } catch (error) {
      // Our own Problems leave the connection as it was; anything from the driver may not have.
      if (!(error instanceof Problem)) broken = error instanceof Error ? error : new Error(String(error));
      throw storeError(error);
    } finally {
      // A client that saw a driver error is destroyed rather than handed to the next caller.
      client.release(broken);
    }
  }

  async function transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return withClient(async (client) => {
      await client.query('begin');
      try {
        const result = await work(client);
        await client.query('commit');
        return result;
      } catch (error) {
        await client.query('rollback').catch(() => undefined);
        throw error;
      }
    });
  }

  async function insertJobs(client: Queryable, jobs: readonly NewJob[], now: Date): Promise<void> {
    if (jobs.length === 0) return;
    await client.query(
      `insert into ${T.jobs} (queue, submission_id, payload, run_at, created_at)
       select u.queue, u.submission_id, u.payload, u.run_at, $1
         from unnest($2::text[], $3::text[], $4::jsonb[], $5::timestamptz[])
              with ordinality as u(queue, submission_id, payload, run_at, n)
        order by u.n`,
      [
        now,
        jobs.map((job) => job.queue),
        jobs.map((job) => job.submissionId),
        jobs.map((job) => jsonText(job.payload)),
        jobs.map((job) => job.runAt),
      ],
    );
  }

  /** Inserts the entries if the submission exists; returns how many were written. */
  /** replay() inside a transaction the caller holds; a bulk replay's entry names its id. */
  async function replayOne(client: Queryable, submissionId: string, now: Date, replayId: string | undefined) {
    // The row lock makes a second, concurrent replay see 'accepted' and do nothing.
    // body_erased_at is asked again after any concurrent erasure commits (READ COMMITTED re-checks
    // the updated row), so a replay racing retention never re-queues a submission without a body.
    const reopened = await client.query(
      `update ${T.submissions} set status = 'accepted', updated_at = $2
        where id = $1 and status = 'failed' and body_erased_at is null`,
      [submissionId, now],
    );
    if (reopened.rowCount !== 1) return false;
    await client.query(
      `insert into ${T.jobs} (queue, submission_id, payload, run_at, created_at)
       select 'ehr-delivery', $1, coalesce((
         select payload from ${T.jobs} where submission_id = $1 and queue = 'ehr-delivery' order by id desc limit 1
       ), 'null'::jsonb), $2, $2`,
      [submissionId, now],
    );
    await insertTimeline(client, submissionId, [replayedEntry(now, replayId)]);
    return true;
  }

  async function insertTimeline(
    client: Queryable,
    submissionId: string,
    entries: readonly TimelineEntry[],
  ): Promise<number> {
    if (entries.length === 0) return 0;
    const result = await client.query(
      `insert into ${T.timeline} (submission_id, at, kind, message, detail)
       select $1, u.at, u.kind, u.message, u.detail
         from unnest($2::timestamptz[], $3::text[], $4::text[], $5::jsonb[])
              with ordinality as u(at, kind, message, detail, n)
        where exists (select 1 from ${T.submissions} where id = $1)
        order by u.n`,
      [
        submissionId,
        entries.map((entry) => entry.at),
        entries.map((entry) => entry.kind),
        entries.map((entry) => entry.message),
        entries.map((entry) => (entry.detail === undefined ? null : jsonText(entry.detail))),
      ],
    );
    return result.rowCount ?? 0;
  }

  async function applyEffects(client: Queryable, submissionId: string, effects: JobEffects, now: Date): Promise<void> {
    if (effects.status !== undefined || effects.ehrReferences !== undefined) {
      await client.query(
        `update ${T.submissions}
            set status = coalesce($2, status), ehr_references = coalesce($3::jsonb, ehr_references), updated_at = $4
          where id = $1`,
        [
          submissionId,
          effects.status ?? null,
          effects.ehrReferences === undefined ? null : jsonText(effects.ehrReferences),
          now,
        ],
      );
    }
    if (effects.handover !== undefined) {
      await client.query(
        `update ${T.handovers} set packets_sent_at = $2, task_reference = $3 where submission_id = $1`,
        [submissionId, effects.handover.packetsSentAt, effects.handover.taskReference ?? null],
      );
    }
    await insertTimeline(client, submissionId, effects.timeline ?? []);
    await insertJobs(client, effects.enqueue ?? [], now);
  }

  /** Changes the job only while `job` still holds it; then applies the effects, all in one transaction. */
  async function fenced(job: Job, change: string, params: unknown[], effects: JobEffects, now: Date): Promise<boolean> {
    return transaction((client) => fencedChange(client, job, change, params, effects, now));
  }

  /** fenced() inside a transaction the caller holds. */
  async function fencedChange(
    client: Queryable,
    job: Job,
    change: string,
    params: unknown[],
    effects: JobEffects,
    now: Date,
  ): Promise<boolean> {
    const result = await client.query(
      `update ${T.jobs} set ${change}
        where id = $1 and lease_owner = $2 and attempts = $3 and done_at is null`,
      [job.id, job.leaseOwner, job.attempts, ...params],
    );
    if (result.rowCount !== 1) return false;
    await applyEffects(client, job.submissionId, effects, now);
    return true;
  }

  const log: EventLog = {
    async append(records: readonly LogRecord[], now: Date): Promise<number[]> {
      if (records.length === 0) return [];
      const counts = new Map<string, number>();
      for (const record of records) counts.set(record.topic, (counts.get(record.topic) ?? 0) + 1);
      const topics = [...counts.keys()].sort();
      return transaction(async (client) => {
        // Locks each topic's head (in sorted order: no deadlock between multi-topic batches) until commit.
        const heads = await client.query<{ topic: string; next_offset: string }>(
          `insert into ${T.topicHeads} as h (topic, next_offset)
           select u.topic, u.n from unnest($1::text[], $2::bigint[]) as u(topic, n) order by u.topic
           on conflict (topic) do update set next_offset = h.next_offset + excluded.next_offset
           returning topic, next_offset`,
          [topics, topics.map((topic) => counts.get(topic) ?? 0)],
        );
        const next = new Map(
          heads.rows.map((row) => [row.topic, Number(row.next_offset) - (counts.get(row.topic) ?? 0)]),
        );
        const offsets = records.map((record) => {
          const offset = next.get(record.topic) ?? 0;
          next.set(record.topic, offset + 1);
          return offset;
        });
        await client.query(
          `insert into ${T.eventLog} (topic, log_offset, record_key, record_value, headers, appended_at)
           select u.topic, u.log_offset, u.record_key, u.record_value, u.headers, $1
             from unnest($2::text[], $3::bigint[], $4::text[], $5::text[], $6::jsonb[])
                  as u(topic, log_offset, record_key, record_value, headers)`,
          [
            now,
            records.map((record) => record.topic),
            offsets,
            records.map((record) => record.key),
            records.map((record) => record.value),
            records.map((record) => jsonText(record.headers)),
          ],
        );
        return offsets;
      });
    },

    async read(topic: string, fromOffset: number, limit: number): Promise<StoredLogRecord[]> {
      const { rows } = await query<LogRow>(
        `select * from ${T.eventLog} where topic = $1 and log_offset >= $2 order by log_offset limit $3`,
        [topic, fromOffset, Math.max(0, limit)],
      );
      return rows.map((row) => ({
        topic: row.topic,
        offset: Number(row.log_offset),
        key: row.record_key,
        value: row.record_value,
        headers: row.headers,
        appendedAt: row.appended_at,
      }));
    },

    async committedOffset(group: string, topic: string): Promise<number> {
      const { rows } = await query<{ next_offset: string }>(
        `select next_offset from ${T.consumerOffsets} where group_id = $1 and topic = $2`,
        [group, topic],
      );
      return Number(rows[0]?.next_offset ?? 0);
    },

    async commitOffset(group: string, topic: string, nextOffset: number): Promise<void> {
      await query(
        `insert into ${T.consumerOffsets} (group_id, topic, next_offset) values ($1, $2, $3)
         on conflict (group_id, topic) do update set next_offset = excluded.next_offset`,
        [group, topic, nextOffset],
      );
    },
  };

  return {
    log,

    async migrate(): Promise<void> {
      await withClient(async (client) => {
        // Two replicas starting at once: the second waits here, then finds nothing left to do.
        await client.query(`select pg_advisory_lock(${MIGRATE_LOCK}, hashtext($1))`, [schema]);
        try {
          const exists = await client.query('select 1 from pg_namespace where nspname = $1', [schema]);
          // Asked first: a database user without CREATE on the database may still use a schema made for it.
          if (exists.rowCount === 0) await client.query(`create schema ${quoted}`);
          await client.query(`set search_path to ${quoted}`);
          try {
            await client.query(schemaMigrationsTable.postgres);
            const applied = await client.query<{ version: number }>(`select version from ${T.schemaMigrations}`);
            const done = new Set(applied.rows.map((row) => row.version));
            for (const migration of migrations) {
              if (done.has(migration.version)) continue;
              await client.query('begin');
              try {
                await client.query(migration.postgres);
                await client.query(`insert into ${T.schemaMigrations} (version, name) values ($1, $2)`, [
                  migration.version,
                  migration.name,
                ]);
                await client.query('commit');
              } catch (error) {
                await client.query('rollback').catch(() => undefined);
                throw error;
              }
            }
          } finally {
            await client.query('reset search_path');
          }
        } finally {
          await client.query(`select pg_advisory_unlock(${MIGRATE_LOCK}, hashtext($1))`, [schema]);
        }
      });
    },

    async accept(submission: NewSubmission, firstJob: Omit<NewJob, 'submissionId'>): Promise<AcceptOutcome> {
      const at = submission.acceptedAt;
      const entry = acceptedEntry(at, firstJob.queue);
      // One statement: the submission, its first job and its first timeline entry, or nothing.
      // ON CONFLICT DO NOTHING covers both unique keys: a concurrent accept of the same input waits
      // for the other to commit and then inserts nothing (and the lookup below finds its row).
      const inserted = await query<SubmissionRow>(
        `with s as (
           insert into ${T.submissions} (id, kind, source, input_id, idempotency_key, body_hash, body, patient_key,
             status, ehr_references, accepted_at, updated_at)
           values ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, 'accepted', '[]', $9, $9)
           on conflict do nothing
           returning *
         ), j as (
           insert into ${T.jobs} (queue, submission_id, payload, run_at, created_at)
           select $10, s.id, $11::jsonb, $12, $9 from s
         ), t as (
           insert into ${T.timeline} (submission_id, at, kind, message, detail)
           select s.id, $9, $13, $14, $15::jsonb from s
         )
         select * from s`,
        [
          submission.id,
          submission.kind,
          submission.source,
          submission.inputId,
          submission.idempotencyKey ?? null,
          submission.bodyHash,
          jsonText(submission.body),
          submission.patientKey,
          at,
          firstJob.queue,
          jsonText(firstJob.payload),
          firstJob.runAt,
          entry.kind,
          entry.message,
          jsonText(entry.detail),
        ],
      );
      const created = inserted.rows[0];
      if (created) return { outcome: 'created', submission: submissionOf(created) };

      const { rows } = await query<SubmissionRow>(
        `select * from ${T.submissions}
          where source = $1 and (idempotency_key = $2 or (kind = $3 and input_id = $4))`,
        [submission.source, submission.idempotencyKey ?? null, submission.kind, submission.inputId],
      );
      const byKey = rows.find(
        (row) => submission.idempotencyKey !== undefined && row.idempotency_key === submission.idempotencyKey,
      );
      const byInput = rows.find((row) => row.kind === submission.kind && row.input_id === submission.inputId);
      const outcome = judgeDuplicate(submission, byKey && submissionOf(byKey), byInput && submissionOf(byInput));
      if (outcome) return outcome;
      throw normalize(new Error(`submission id ${submission.id} is already taken by another submission`));
    },

    async getSubmission(id: string): Promise<Submission | undefined> {
      const { rows } = await query<SubmissionRow>(`select * from ${T.submissions} where id = $1`, [id]);
      return rows[0] && submissionOf(rows[0]);
    },

    async findSubmission(source: string, kind: SubmissionKind, inputId: string): Promise<Submission | undefined> {
      const { rows } = await query<SubmissionRow>(
        `select * from ${T.submissions} where source = $1 and kind = $2 and input_id = $3`,
        [source, kind, inputId],
      );
      return rows[0] && submissionOf(rows[0]);
    },

    async patientSubmissions(patientKey: string, kinds: readonly SubmissionKind[], since: Date) {
      const { text, params } = patientSubmissionsSql(patientKey, kinds, since, dialect, T.submissions);
      const { rows } = await query<SubmissionRow>(text, params);
      return rows.map(submissionOf);
    },

    async timeline(submissionId: string): Promise<TimelineEntry[]> {
      const { rows } = await query<TimelineRow>(
        `select at, kind, message, detail from ${T.timeline} where submission_id = $1 order by at, id`,
        [submissionId],
      );
      return rows.map(timelineEntryOf);
    },

    async appendTimeline(submissionId: string, entries: readonly TimelineEntry[]): Promise<void> {
      const written = await withClient((client) => insertTimeline(client, submissionId, entries));
      if (written === 0) {
        const exists = await query(`select 1 from ${T.submissions} where id = $1`, [submissionId]);
        if (exists.rowCount === 0) throw noSubmission(submissionId);
      }
    },

    async claim(queue: QueueName, owner: string, options: { now: Date; leaseMs: number; limit: number }) {
      if (options.limit <= 0) return [];
      const { rows } = await query<JobRow>(
        `with due as (
           select id from ${T.jobs}
            where queue = $1 and done_at is null and run_at <= $2
              and (lease_owner is null or lease_expires_at <= $2)
            order by run_at, id
            limit $3
            for update skip locked
         )
         update ${T.jobs} as j
            set lease_owner = $4, lease_expires_at = $5, attempts = j.attempts + 1
           from due
          where j.id = due.id
         returning j.*`,
        [queue, options.now, options.limit, owner, new Date(options.now.getTime() + options.leaseMs)],
      );
      return rows.sort((a, b) => a.run_at.getTime() - b.run_at.getTime() || Number(a.id) - Number(b.id)).map(jobOf);
    },

    complete(job: Job, effects: JobEffects, now: Date): Promise<boolean> {
      return fenced(job, `done_at = $4, outcome = 'completed'`, [now], effects, now);
    },

    async completeAll(items: readonly JobCompletion[], now: Date): Promise<boolean[]> {
      if (items.length === 0) return [];
      // Set-based: a round trip per statement, not per job, is what a batch of a hundred costs.
      return transaction(async (client) => {
        const { rows } = await client.query<{ id: string }>(
          `update ${T.jobs} as j set done_at = $1, outcome = 'completed'
             from unnest($2::bigint[], $3::text[], $4::int[]) as u(id, owner, attempts)
            where j.id = u.id and j.lease_owner = u.owner and j.attempts = u.attempts and j.done_at is null
           returning j.id`,
          [
            now,
            items.map(({ job }) => job.id),
            items.map(({ job }) => job.leaseOwner),
            items.map(({ job }) => job.attempts),
          ],
        );
        const completed = new Set(rows.map((row) => row.id));
        const applied = items.filter(({ job }) => completed.has(job.id));
        const entries = applied.flatMap(({ job, effects }) =>
          (effects.timeline ?? []).map((entry) => ({ submissionId: job.submissionId, entry })),
        );
        if (entries.length > 0) {
          await client.query(
            `insert into ${T.timeline} (submission_id, at, kind, message, detail)
             select u.submission_id, u.at, u.kind, u.message, u.detail
               from unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::jsonb[])
                    with ordinality as u(submission_id, at, kind, message, detail, n)
              order by u.n`,
            [
              entries.map(({ submissionId }) => submissionId),
              entries.map(({ entry }) => entry.at),
              entries.map(({ entry }) => entry.kind),
              entries.map(({ entry }) => entry.message),
              entries.map(({ entry }) => (entry.detail === undefined ? null : jsonText(entry.detail))),
            ],
          );
        }
        // The rarer effects (status, EHR references, follow-on jobs) job by job; none cost a query when absent.
        for (const { job, effects } of applied) {
          await applyEffects(client, job.submissionId, { ...effects, timeline: [] }, now);
        }
        return items.map(({ job }) => completed.has(job.id));
      });
    },

    retryLater(job: Job, runAt: Date, effects: JobEffects, now: Date): Promise<boolean> {
      return fenced(job, 'run_at = $4, lease_owner = null, lease_expires_at = null', [runAt], effects, now);
    },

    fail(job: Job, effects: JobEffects, now: Date): Promise<boolean> {
      return fenced(job, `done_at = $4, outcome = 'failed'`, [now], effects, now);
    },

    async reapExpiredLeases(now: Date): Promise<number> {
      // Rows locked right now are being claimed or finished by someone: skipped, not waited for.
      const result = await query(
        `with expired as (
           select id from ${T.jobs}
            where done_at is null and lease_owner is not null and lease_expires_at <= $1
            for update skip locked
         )
         update ${T.jobs} as j set lease_owner = null, lease_expires_at = null
           from expired where j.id = expired.id`,
        [now],
      );
      return result.rowCount ?? 0;
    },

    replay(submissionId: string, now: Date): Promise<boolean> {
      return transaction((client) => replayOne(client, submissionId, now, undefined));
    },

    async listSubmissions(filter: SubmissionFilter, page: { after?: SubmissionCursor | undefined; limit: number }) {
      const { text, params } = listSql(filter, page, dialect, T.submissions);
      const { rows } = await query<ListRow>(text, params);
      return rows.map((row) => listItemOf(row, asDate));
    },

    async summarizeSubmissions() {
      const statements = summarySql(dialect, T.submissions);
      const counts = await query<{ kind: string; status: string; count: string }>(statements.counts);
      const failed = await query<{ reason: string; count: string }>(statements.failed);
      const oldest = await query<{ oldest: Date | null }>(statements.oldest);
      return summaryOf(counts.rows, failed.rows, oldest.rows[0]?.oldest, asDate);
    },

    async countReplayable(filter: SubmissionFilter) {
      const { text, params } = replayableSql(filter, dialect, T.submissions);
      return (await query<{ id: string }>(text, params)).rowCount ?? 0;
    },

    replayMatching(filter: SubmissionFilter, options: { replayId: string; maximum: number; now: Date }) {
      return transaction(async (client): Promise<BulkReplayOutcome> => {
        const { text, params } = replayableSql(filter, dialect, T.submissions);
        // Locked: a concurrent bulk replay waits, then finds these accepted and leaves them alone.
        const { rows } = await client.query<{ id: string }>(`${text} for update of s`, params);
        if (rows.length > options.maximum) return { outcome: 'too-many', count: rows.length };
        let count = 0;
        for (const { id } of rows) if (await replayOne(client, id, options.now, options.replayId)) count += 1;
        return { outcome: 'replayed', count };
      });
    },

    async replayProgress(replayId: string) {
      const { text, params } = progressSql(replayId, dialect, T.submissions);
      return progressOf((await query<{ status: string; count: string }>(text, params)).rows);
    },

    async beginHandover(submissionId: string, effects: HandoverEffects, now: Date): Promise<boolean> {
      return transaction(async (client) => {
        const exists = await client.query(`select 1 from ${T.submissions} where id = $1`, [submissionId]);
        if (exists.rowCount === 0) throw noSubmission(submissionId);
        const inserted = await client.query(
          `insert into ${T.handovers} (submission_id, started_at) values ($1, $2) on conflict do nothing`,
          [submissionId, now],
        );
        if (inserted.rowCount !== 1) return false;
        await applyEffects(client, submissionId, effects, now);
        return true;
      });
    },

    async getHandover(submissionId: string): Promise<HandoverState | undefined> {
      const { rows } = await query<HandoverRow>(`select * from ${T.handovers} where submission_id = $1`, [
        submissionId,
      ]);
      return rows[0] && handoverOf(rows[0]);
    },

    async acknowledgeHandover(submissionId, ack, effects, now): Promise<boolean> {
      return transaction(async (client) => {
        const changed = await client.query(
          `update ${T.handovers} set ack_status = $2, ack_at = $3
            where submission_id = $1 and packets_sent_at is not null`,
          [submissionId, ack.status, ack.at],
        );
        if (changed.rowCount !== 1) return false;
        await applyEffects(client, submissionId, effects, now);
        return true;
      });
    },

    async overdueHandovers(sentBefore: Date, limit: number): Promise<HandoverState[]> {
      const { rows } = await query<HandoverRow>(
        `select * from ${T.handovers}
          where ack_status is null and overdue_at is null and task_reference is not null
              and packets_sent_at is not null and packets_sent_at <= $1
          order by packets_sent_at limit $2`,
        [sentBefore, Math.max(0, limit)],
      );
      return rows.map(handoverOf);
    },

    async markHandoverOverdue(submissionId: string, effects: HandoverEffects, now: Date): Promise<boolean> {
      return transaction(async (client) => {
        const changed = await client.query(
          `update ${T.handovers} set overdue_at = $2
            where submission_id = $1 and overdue_at is null and ack_status is null and packets_sent_at is not null`,
          [submissionId, now],
        );
        if (changed.rowCount !== 1) return false;
        await applyEffects(client, submissionId, effects, now);
        return true;
      });
    },

    async handoversAwaitingAcknowledgement(): Promise<number> {
      const { rows } = await query<{ count: number }>(
        `select count(*)::integer as count from ${T.handovers}
          where ack_status is null and task_reference is not null and packets_sent_at is not null`,
      );
      return rows[0]?.count ?? 0;
    },

    async recordAudit(entry: AuditEntry): Promise<void> {
      await query(
        `insert into ${T.auditLog} (at, client_id, method, route, status, submission_id, request_id)
         values ($1, $2, $3, $4, $5, $6, $7)`,
        [
          entry.at,
          entry.clientId,
          entry.method,
          entry.route,
          entry.status,
          entry.submissionId ?? null,
          entry.requestId,
        ],
      );
    },

    async auditTrail(q: AuditQuery): Promise<StoredAuditEntry[]> {
      const { rows } = await query<AuditRow>(
        `select * from ${T.auditLog}
          where ($1::timestamptz is null or at >= $1) and ($2::text is null or submission_id = $2) and seq > $3
          order by seq limit $4`,
        [q.since ?? null, q.submissionId ?? null, q.afterSeq ?? 0, Math.max(0, q.limit)],
      );
      return rows.map(auditEntryOf);
    },

    async erasePersonalData(cutoffs: RetentionCutoffs, now: Date): Promise<string[]> {
      if (cutoffs.limit <= 0) return [];
      const entry = erasedEntry(now);
      // One statement: pick (skipping rows another replica is erasing), erase, note it on the timeline.
      const { rows } = await query<{ id: string }>(
        `with due as (
           select s.id from ${T.submissions} s
            where s.body_erased_at is null
              and ((s.status = 'delivered' and s.updated_at <= $1) or (s.status = 'failed' and s.updated_at <= $2))
              and not exists (select 1 from ${T.jobs} j where j.submission_id = s.id and j.done_at is null)
            order by s.updated_at
            limit $3
            for update skip locked
         ), erased as (
           update ${T.submissions} s set body = 'null'::jsonb, body_erased_at = $4
             from due where s.id = due.id and s.body_erased_at is null
           returning s.id
         ), noted as (
           insert into ${T.timeline} (submission_id, at, kind, message)
           select id, $4, $5, $6 from erased
         ), emptied as (
           -- Finished jobs keep their payloads otherwise: a handover packet's event names the patient.
           update ${T.jobs} j set payload = 'null'::jsonb
             from erased where j.submission_id = erased.id and j.done_at is not null
         )
         select id from erased`,
        [cutoffs.deliveredBefore, cutoffs.failedBefore, cutoffs.limit, now, entry.kind, entry.message],
      );
      return rows.map((row) => row.id);
    },

    async backlog(now: Date) {
      const { rows } = await query<{ queue: string; count: number; oldest: Date }>(
        `select queue, count(*)::integer as count, min(created_at) as oldest
           from ${T.jobs} where done_at is null group by queue`,
      );
      return backlogOf(
        rows.map((row) => ({ queue: row.queue, count: row.count, oldestAgeMs: now.getTime() - row.oldest.getTime() })),
      );
    },

    async ping(): Promise<void> {
      await query('select 1');
    },

    close(): Promise<void> {
      return Promise.resolve();
    },
  };
}

const asDate = (value: unknown): Date => (value instanceof Date ? value : new Date(String(value)));

function submissionOf(row: SubmissionRow): Submission {
  return {
    id: row.id,
    kind: row.kind as SubmissionKind,
    source: row.source,
    inputId: row.input_id,
    idempotencyKey: row.idempotency_key ?? undefined,
    bodyHash: row.body_hash,
    body: row.body,
    patientKey: row.patient_key,
    status: row.status as SubmissionStatus,
    acceptedAt: row.accepted_at,
    updatedAt: row.updated_at,
    ehrReferences: row.ehr_references,
    bodyErasedAt: row.body_erased_at ?? undefined,
  };
}

function auditEntryOf(row: AuditRow): StoredAuditEntry {
  return {
    seq: Number(row.seq),
    at: row.at,
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
    startedAt: row.started_at,
    packetsSentAt: row.packets_sent_at ?? undefined,
    taskReference: row.task_reference ?? undefined,
    acknowledgement:
      row.ack_status === null || row.ack_at === null
        ? undefined
        : { status: row.ack_status as HandoverAckStatus, at: row.ack_at },
    overdueAt: row.overdue_at ?? undefined,
  };
}

function jobOf(row: JobRow): Job {
  return {
    id: row.id,
    queue: row.queue as QueueName,
    submissionId: row.submission_id,
    payload: row.payload,
    attempts: row.attempts,
    runAt: row.run_at,
    leaseOwner: row.lease_owner ?? '',
    leaseExpiresAt: row.lease_expires_at ?? new Date(0),
    createdAt: row.created_at,
  };
}

function timelineEntryOf(row: TimelineRow): TimelineEntry {
  const entry = { at: row.at, kind: row.kind as TimelineKind, message: row.message };
  return row.detail === null ? entry : { ...entry, detail: row.detail };
}

function storeError(error: unknown): Error {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : '';
  const transient =
    (typeof code === 'string' && (TRANSIENT_SQLSTATE.test(code) || TRANSIENT_ERRNO.has(code))) ||
    /Connection terminated|timeout exceeded when trying to connect/i.test(message);
  if (transient) {
    return Object.assign(unavailable('The database is unreachable or overloaded; try again.'), { cause: error });
  }
  return normalize(error);
}
