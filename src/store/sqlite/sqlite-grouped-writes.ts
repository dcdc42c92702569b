/**
 * The SQLite Store's group-committed writes — accepts and audit entries, a write or two per HTTP
 * request — and where their commits run.
 *
 * With synchronous = FULL a COMMIT waits for the disk, and node:sqlite waits synchronously: on
 * the event loop, every request in the process stood still for every fsync. So a file-backed
 * store hands these writes to a thread of their own (sqlite-writer.ts) that holds a second
 * connection and runs the same group commit there; the event loop goes on parsing, validating
 * and answering while the disk flushes. A write's promise settles only when the thread reports
 * its COMMIT returned — the durability promise of a 202 is unchanged, only who waits for the
 * disk moved. Reads and the workers' writes stay on the store's own connection (WAL lets readers
 * run beside the thread's transaction; writers take turns under BEGIN IMMEDIATE: the thread
 * waits out the busy timeout, the event loop asks again from a timer, see settle()). An
 * in-memory database cannot be shared between connections, so ':memory:' keeps the group
 * commit on the calling thread.
 */
import { Worker } from 'node:worker_threads';
import type { AcceptOutcome, AuditEntry, NewJob, NewSubmission } from '../store.ts';
import { unavailable } from '../../platform/problem.ts';
import { insertAudit } from './sqlite-audit.ts';
import { sqliteError, type SqliteDatabase, type SqliteDatabaseOptions } from './sqlite-database.ts';
import type { SqliteEffects } from './sqlite-effects.ts';
import { jsonText } from '../store-rules.ts';
import { acceptWithin } from './sqlite-submissions.ts';

export interface GroupedWrites {
  accept(input: NewSubmission, firstJob: Omit<NewJob, 'submissionId'>): Promise<AcceptOutcome>;
  recordAudit(entry: AuditEntry): Promise<void>;
  /** Makes the writes already asked for, then lets go of what runs them. */
  close(): Promise<void>;
}

/**
 * One write the store asks the write thread for. An accept's body goes as the JSON text the row
 * stores, made here once: a string crosses to the thread as one copy, where the object would be
 * cloned field by field there and turned into text again on the other side.
 */
export type WriteRequest =
  | {
      readonly id: number;
      readonly op: 'accept';
      /** Its body is left out (null): `bodyText` carries it. */
      readonly input: NewSubmission;
      readonly bodyText: string;
      readonly firstJob: Omit<NewJob, 'submissionId'>;
    }
  | { readonly id: number; readonly op: 'audit'; readonly entry: AuditEntry };

/** What the store posts to the thread: the writes asked for in one turn of its event loop, or that it closes. */
export type WriteMessage = { readonly writes: readonly WriteRequest[] } | { readonly close: true };

/** What the write thread answers: a write's outcome once committed, a group's size, or that it closed. */
export type WriteAnswer =
  | { readonly id: number; readonly value: unknown }
  | { readonly id: number; readonly error: { readonly message: string; readonly errcode: unknown } }
  | { readonly group: number }
  | { readonly closed: true };

/** The group commit on the connection's own thread (sqlite-database.ts grouped()). */
export function groupedOnThisThread(db: SqliteDatabase, effects: SqliteEffects): GroupedWrites {
  return {
    accept: (input, firstJob) => db.grouped(() => acceptWithin(db, effects, input, firstJob)),
    recordAudit: (entry) =>
      db.grouped(() => {
        insertAudit(db, entry);
      }),
    close: () => Promise.resolve(),
  };
}

/** The thread's module is this one's sibling: TypeScript sources, or the JavaScript tsc emitted (npm start, the image). */
const MODULE_EXTENSION = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

/**
 * The group commit on a write thread with its own connection to `options.file`. Messages cost
 * per message, not only per byte: the writes asked for in one turn of the event loop go to the
 * thread in one message, and the thread answers a group's writes in one.
 */
export function groupedOnWriteThread(options: SqliteDatabaseOptions): GroupedWrites {
  const waiting = new Map<number, { resolve: (value: never) => void; reject: (error: Error) => void }>();
  let outbox: WriteRequest[] = [];
  let nextId = 0;
  let closing: Promise<void> | undefined;
  let thread: Worker | undefined;

  function start(): Worker {
    const worker = new Worker(new URL(`./sqlite-writer${MODULE_EXTENSION}`, import.meta.url), {
      workerData: { file: options.file, busyTimeoutMs: options.busyTimeoutMs },
    });
    worker.on('message', (answers: readonly WriteAnswer[]) => {
      for (const answer of answers) {
        if ('group' in answer) {
          options.onGroupCommit?.(answer.group);
          continue;
        }
        if ('closed' in answer) continue;
        const caller = waiting.get(answer.id);
        waiting.delete(answer.id);
        if (caller === undefined) continue;
        if ('error' in answer) caller.reject(sqliteError(Object.assign(new Error(answer.error.message), answer.error)));
        else caller.resolve(answer.value as never);
      }
      // The thread keeps the process alive only while a caller waits for it, or while it closes:
      // close() waits for its exit, and the answers to the last writes come before that.
      if (waiting.size === 0 && closing === undefined) worker.unref();
    });
    const lost = (reason: unknown): void => {
      if (thread === worker) thread = undefined;
      // Not known whether these committed; the caller answers 503 and the client retries, which
      // the idempotency check turns into "the same request again" if it did.
      const problem = Object.assign(unavailable('The embedded database writer stopped; try again.'), {
        cause: reason,
      });
      for (const caller of waiting.values()) caller.reject(problem);
      waiting.clear();
      outbox = [];
    };
    worker.on('error', lost);
    worker.on('exit', (code) => {
      lost(new Error(`SQLite write thread exited with code ${String(code)}`));
    });
    worker.unref();
    return worker;
  }

  function post(): void {
    const writes = outbox;
    outbox = [];
    if (writes.length > 0) thread?.postMessage({ writes } satisfies WriteMessage);
  }

  function ask<T>(request: (id: number) => WriteRequest): Promise<T> {
    if (closing !== undefined) return Promise.reject(unavailable('The embedded database is closing.'));
    thread ??= start();
    const worker = thread;
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      worker.ref();
      outbox.push(request(id));
      if (outbox.length === 1) setImmediate(post);
    });
  }

  return {
    async accept(input, firstJob) {
      const bodyText = jsonText(input.body);
      const outcome = await ask<AcceptOutcome>((id) => ({
        id,
        op: 'accept',
        input: { ...input, body: null },
        bodyText,
        firstJob,
      }));
      // The stored body is this input's text: the submission carries the input, not a copy back.
      return outcome.outcome === 'created'
        ? { outcome: 'created', submission: { ...outcome.submission, body: input.body } }
        : outcome;
    },
    recordAudit: (entry) => ask<undefined>((id) => ({ id, op: 'audit', entry })),
    close() {
      closing ??= (async () => {
        const worker = thread;
        if (worker === undefined) return;
        worker.ref();
        const exited = new Promise<void>((resolve) =>
          worker.once('exit', () => {
            resolve();
          }),
        );
        // The thread makes the writes already asked for (these first) before it closes its connection.
        post();
        worker.postMessage({ close: true } satisfies WriteMessage);
        await exited;
      })();
      return closing;
    },
  };
}
