/**
 * The embedded Store: one SQLite file (under DATA_DIR) through node:sqlite, for a single process.
 * Composed of one part per concern under sqlite/ over one connection (sqlite/sqlite-database.ts:
 * WAL, synchronous=FULL, BEGIN IMMEDIATE, group commit).
 *
 * - accept() and recordAudit() — a write or two per HTTP request — are group-committed: those
 *   asked for together share a transaction (one fsync), each in a savepoint of its own, on a
 *   write thread with its own connection so the event loop does not wait for the disk
 *   (sqlite/sqlite-grouped-writes.ts).
 * - Times are INTEGER epoch milliseconds, JSON is TEXT (see migrations/001-initial.ts).
 * - Fencing: a job is held by (lease_owner, attempts) — every claim increments attempts, so even
 *   the same owner claiming the job again after its lease ran out holds a different claim. A job
 *   read under its queue's lease (the event relay's) is held by that lease's owner and the attempt
 *   it was read as (store-rules.ts, stillHeldSql).
 */
import { migrations, schemaMigrationsTable } from './migrations/index.ts';
import { openSqliteDatabase, type SqliteDatabaseOptions } from './sqlite/sqlite-database.ts';
import { sqliteAudit } from './sqlite/sqlite-audit.ts';
import { sqliteEffects } from './sqlite/sqlite-effects.ts';
import { groupedOnThisThread, groupedOnWriteThread } from './sqlite/sqlite-grouped-writes.ts';
import { sqliteEventLog } from './sqlite/sqlite-event-log.ts';
import { sqliteHandovers } from './sqlite/sqlite-handovers.ts';
import { sqliteJobs } from './sqlite/sqlite-jobs.ts';
import { sqliteSubmissions } from './sqlite/sqlite-submissions.ts';
import type { Store } from './store.ts';

export type SqliteStoreOptions = Omit<SqliteDatabaseOptions, 'checkpointAfterPages'>;

/**
 * The event loop's connection checkpoints only once the WAL holds four times what makes the
 * write thread's connection do it (SQLite's default, 1,000 pages). A checkpoint runs inside the
 * commit that crossed the mark, and flushes the database file: on the event loop that stood
 * every request still for tens of milliseconds while the write thread's fsyncs kept the disk busy.
 * While anything is accepted, the write thread crosses the mark first; a service that only
 * delivers (nothing accepted since it started, so no write thread) still checkpoints, four
 * times more at a time (docs/adr/0055-sqlite-event-loop-never-waits-for-the-disk.md).
 */
const EVENT_LOOP_CHECKPOINT_PAGES = 4_000;

export function createSqliteStore(options: SqliteStoreOptions): Store {
  const onWriteThread = options.file !== ':memory:';
  const db = openSqliteDatabase(
    onWriteThread ? { ...options, checkpointAfterPages: EVENT_LOOP_CHECKPOINT_PAGES } : options,
  );
  const effects = sqliteEffects(db);
  const writes = onWriteThread ? groupedOnWriteThread(options) : groupedOnThisThread(db, effects);
  return {
    ...sqliteSubmissions(db, effects, writes),
    ...sqliteJobs(db, effects),
    ...sqliteHandovers(db, effects),
    ...sqliteAudit(db, writes),
    log: sqliteEventLog(db),

    migrate: () =>
      db.settle(() => {
        db.transaction(() => {
          db.exec(schemaMigrationsTable.sqlite);
        });
        for (const migration of migrations) {
          db.transaction(() => {
            // Asked inside the write lock: another process may have applied it a moment ago.
            if (db.get('select 1 from schema_migrations where version = ?', migration.version)) return;
            db.exec(migration.sqlite);
            db.run(
              'insert into schema_migrations (version, name, applied_at) values (?, ?, ?)',
              migration.version,
              migration.name,
              Date.now(),
            );
          });
        }
      }),

    ping: () =>
      db.settle(() => {
        db.get('select 1');
      }),

    async close() {
      await writes.close();
      await db.settle(() => {
        db.close();
      });
    },
  };
}
