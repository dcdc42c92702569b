/**
 * One SQLite connection through node:sqlite, and the ways the SQLite Store's parts use it.
 *
 * - WAL journal, synchronous=FULL (a commit is on disk before a write resolves; a transaction
 *   may opt out where losing it costs only a repeat, see TransactionOptions), foreign keys
 *   on, a busy timeout so a second process on the same file (the `replay` command beside
 *   `serve`) waits instead of failing.
 * - Every write is one `BEGIN IMMEDIATE` transaction: the write lock is taken up front, so two
 *   connections never both read and then both try to upgrade (which SQLite answers with BUSY at
 *   once, whatever the timeout). node:sqlite is synchronous, so a transaction runs start to end
 *   without yielding to the event loop: nothing else in the process interleaves with it.
 * - The event loop never sleeps for the write lock (see settle()): the write thread holds that
 *   lock through each fsync'd group commit, and SQLite's busy handler waits by sleeping the
 *   calling thread, which on the event loop stood every request in flight still with it.
 * - Writes asked for in one turn of the event loop can share a transaction (see grouped()).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { normalize, unavailable } from '../../platform/problem.ts';
import { retry, type RetryPolicy } from '../../platform/retry.ts';
import type { SqlDialect } from '../submission-query.ts';

export interface SqliteDatabaseOptions {
  /** Path of the database file (its directory is created), or ':memory:' for a throwaway store. */
  readonly file: string;
  /** How long a write waits for another connection's lock before giving up; default 5 s. */
  readonly busyTimeoutMs?: number;
  /** Told, after each group commit, how many writes it held (for tests). */
  readonly onGroupCommit?: (size: number) => void;
  /**
   * After a commit of this connection leaves at least this many pages in the WAL, the commit
   * copies them into the database file and flushes it (SQLite's automatic checkpoint); default
   * SQLite's 1,000 (4 MB at 4 KiB pages).
   */
  readonly checkpointAfterPages?: number;
}

export interface SqliteDatabase {
  /** Runs DDL (migrations). */
  exec(text: string): void;
  /** The first row, typed by the caller: node:sqlite only knows column values. */
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
  get<T>(text: string, ...params: SQLInputValue[]): T | undefined;
  all<T>(text: string, ...params: SQLInputValue[]): T[];
  /** How many rows the statement changed. */
  run(text: string, ...params: SQLInputValue[]): number;
  /** `work` inside BEGIN IMMEDIATE … COMMIT; rolled back if it throws. */
  transaction<T>(work: () => T, options?: TransactionOptions): T;
  /**
   * The port is asynchronous; node:sqlite is not. Errors leave as the one error type.
   * If the first transaction() of `work` finds the write lock held by another connection (the
   * write thread, another process), `work` stops there — nothing of it written — and is run
   * again, from its start, once a timer says try again, until the busy timeout has passed
   * (then a retriable 503). So `work` must not catch that error, and what it does before its
   * first transaction must be safe to do twice (reads). A later transaction of the same `work`
   * waits for the lock in place, as SQLite's busy timeout makes it
   * (docs/adr/0044-event-loop-never-sleeps-for-the-sqlite-write-lock.md).
   */
  settle<T>(work: () => T): Promise<T>;
  /** `work` group-committed with the other grouped writes of this turn of the event loop. */
  grouped<T>(work: () => T): Promise<T>;
  /** Makes the writes already asked for, then closes the connection. */
  close(): void;
}

interface TransactionOptions {
  /**
   * false: the COMMIT does not wait for the disk (synchronous = normal for this transaction
   * only). A power loss may then undo it — never half of it, and never a commit that waited —
   * so it is only for writes whose loss means work done again (docs/adr/0036-relay-commits-without-flush.md).
   */
  readonly waitForDisk?: boolean;
}

/** How the message browser's shared SQL is written for SQLite (src/store/submission-query.ts). */
export const SQLITE: SqlDialect = {
  placeholder: () => '?',
  time: (at) => at.getTime(),
  jsonField: (column, field) => `cast(json_extract(${column}, '$.${field}') as text)`,
  containsIgnoringCase: (text, part) => `instr(lower(${text}), lower(${part})) > 0`,
  timeline: 'timeline',
};

interface GroupedWrite {
  /** Runs the write inside the open transaction; returns how to tell its caller, once committed. */
  readonly write: () => () => void;
  readonly reject: (error: Error) => void;
}

/** Writes per group commit at most: bounds how long one group holds the event loop and the write lock. */
const MAX_GROUP = 256;

/** SQLite's primary result codes that mean "try again": BUSY, LOCKED, IOERR, FULL, CANTOPEN. */
const TRANSIENT_CODES = new Set([5, 6, 10, 13, 14]);
const SQLITE_BUSY = 5;

const DEFAULT_BUSY_TIMEOUT_MS = 5_000;

/**
 * The write lock was held by another connection when a settle()'s first transaction asked for
 * it: nothing of that settle was written, so it can be run again.
 */
class LockTaken extends Error {
  readonly sqlite: unknown;
  constructor(sqlite: unknown) {
    super('the SQLite write lock is held by another connection');
    this.sqlite = sqlite;
  }
}

const isBusy = (error: unknown): boolean => {
  const code = (error as { errcode?: unknown } | null)?.errcode;
  return typeof code === 'number' && (code & 0xff) === SQLITE_BUSY;
};

/**
 * How often a settle() asks again for a write lock another connection holds: every few
 * milliseconds (a group commit holds it for about one fsync), jittered so that asking again is
 * not in step with the holder's commits, for as long as the busy timeout allows.
 */
function lockPolicy(busyTimeoutMs: number): RetryPolicy {
  return { initialDelayMs: 1, maxDelayMs: 8, multiplier: 2, horizonMs: busyTimeoutMs, maxRetryAfterMs: 0 };
}

export function openSqliteDatabase(options: SqliteDatabaseOptions): SqliteDatabase {
  if (options.file !== ':memory:') mkdirSync(dirname(options.file), { recursive: true });
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  const db = new DatabaseSync(options.file, { enableForeignKeyConstraints: true, timeout: busyTimeoutMs });
  db.exec('pragma journal_mode = wal');
  db.exec('pragma synchronous = full');
  db.exec('pragma foreign_keys = on');
  // A group commit puts each write in a SAVEPOINT, and SQLite keeps the pages a savepoint
  // changes in a sub-journal that spills past 64 KiB into a temporary file: under a burst
  // (groups of three accepts or more) every COMMIT created, wrote and deleted one in the temp
  // folder. The journal lives only as long as its transaction, so memory is where it belongs.
  db.exec('pragma temp_store = memory');
  if (options.checkpointAfterPages !== undefined) {
    db.exec(`pragma wal_autocheckpoint = ${String(options.checkpointAfterPages)}`);
  }

  const policy = lockPolicy(busyTimeoutMs);

  const statements = new Map<string, StatementSync>();
  function sql(text: string): StatementSync {
    let statement = statements.get(text);
    if (!statement) {
      statement = db.prepare(text);
      statements.set(text, statement);
    }
    return statement;
  }

  /** Inside settle()'s work: whether a transaction of it has committed yet. */
  let settling: { committed: boolean } | undefined;

  function begin(): void {
    if (settling === undefined || settling.committed) {
      db.exec('begin immediate');
      return;
    }
    // Asked once, without SQLite's busy handler: if the lock is held, settle() asks again later.
    db.exec('pragma busy_timeout = 0');
    try {
      db.exec('begin immediate');
    } catch (error) {
      if (isBusy(error)) throw new LockTaken(error);
      throw error;
    } finally {
      db.exec(`pragma busy_timeout = ${String(busyTimeoutMs)}`);
    }
  }

  function transaction<T>(work: () => T, options?: TransactionOptions): T {
    // In WAL mode `normal` still syncs at checkpoints, so the commits of the other connections
    // that did wait (accepts, on the write thread) stay on disk whoever runs the checkpoint.
    const lazy = options?.waitForDisk === false;
    if (lazy) db.exec('pragma synchronous = normal');
    try {
      begin();
      try {
        const result = work();
        db.exec('commit');
        if (settling !== undefined) settling.committed = true;
        return result;
      } catch (error) {
        if (db.isTransaction) db.exec('rollback');
        throw error;
      }
    } finally {
      if (lazy) db.exec('pragma synchronous = full');
    }
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

  function flushWrites(): void {
    const group = pendingWrites.splice(0, MAX_GROUP);
    if (group.length === 0) return;
    if (pendingWrites.length > 0) setImmediate(flushWrites);
    let settlements: (() => void)[];
    try {
      settlements = transaction(() => group.map((pending) => pending.write()));
    } catch (error) {
      // BEGIN or COMMIT failed (or SQLite gave up the whole transaction): none of them is stored.
      for (const pending of group) pending.reject(sqliteError(error));
      return;
    }
    for (const settle of settlements) settle();
    options.onGroupCommit?.(group.length);
  }

  return {
    exec: (text) => {
      db.exec(text);
    },
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
    get: <T>(text: string, ...params: SQLInputValue[]) => sql(text).get(...params) as T | undefined,
    all: <T>(text: string, ...params: SQLInputValue[]) => sql(text).all(...params) as T[],
    run: (text, ...params) => Number(sql(text).run(...params).changes),
    transaction,
    settle<T>(work: () => T): Promise<T> {
      // The first attempt runs now, synchronously, as `work` always has: only a lock found taken waits.
      return retry(
        () => {
          settling = { committed: false };
          try {
            return Promise.resolve(work());
          } finally {
            settling = undefined;
          }
        },
        policy,
        { bail: (error) => !(error instanceof LockTaken) },
      ).catch((error: unknown) => {
        throw sqliteError(error instanceof LockTaken ? error.sqlite : error);
      });
    },
    grouped<T>(work: () => T): Promise<T> {
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
                reject(sqliteError(error));
              };
            }
          },
          reject,
        });
        if (pendingWrites.length === 1) setImmediate(flushWrites);
      });
    },
    close() {
      // Writes already asked for are made, not dropped with the connection.
      while (pendingWrites.length > 0) flushWrites();
      statements.clear();
      if (db.isOpen) db.close();
    },
  };
}

/** SQLite's error as the one error type: its transient codes a retriable 503, anything else a 500. */
export function sqliteError(error: unknown): Error {
  const code = (error as { errcode?: unknown } | null)?.errcode;
  if (typeof code === 'number' && TRANSIENT_CODES.has(code & 0xff)) {
    const problem = unavailable('The embedded database is busy or cannot be written; try again.');
    return Object.assign(problem, { cause: error });
  }
  return normalize(error);
}
