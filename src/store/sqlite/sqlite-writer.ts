/**
 * The SQLite Store's write thread (see sqlite-grouped-writes.ts): its own connection to the file,
 * the same group commit as on the main thread, and an answer per write once its COMMIT returned.
 * Requests that arrive while a group is on its way to the disk wait for the next group.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openSqliteDatabase } from './sqlite-database.ts';
import { sqliteEffects } from './sqlite-effects.ts';
import { groupedOnThisThread, type WriteAnswer, type WriteRequest } from './sqlite-grouped-writes.ts';

const port = parentPort;
if (port === null) throw new Error('sqlite-writer.ts runs as a worker thread of the SQLite Store');
const answer = (message: WriteAnswer): void => {
  port.postMessage(message);
};

const { file, busyTimeoutMs } = workerData as { file: string; busyTimeoutMs: number | undefined };
const db = openSqliteDatabase({
  file,
  ...(busyTimeoutMs === undefined ? {} : { busyTimeoutMs }),
  onGroupCommit: (size) => {
    answer({ group: size });
  },
});
const writes = groupedOnThisThread(db, sqliteEffects(db));

function settle(id: number, work: Promise<unknown>): void {
  work.then(
    (value) => {
      answer({ id, value });
    },
    (error: unknown) => {
      // grouped() wraps SQLite's error in a Problem; its cause carries SQLite's code across.
      const raw = ((error as { cause?: unknown }).cause ?? error) as { message?: unknown; errcode?: unknown };
      answer({ id, error: { message: String(raw.message), errcode: raw.errcode } });
    },
  );
}

port.on('message', (request: WriteRequest) => {
  if (request.op === 'accept') settle(request.id, writes.accept(request.input, request.firstJob));
  else if (request.op === 'audit') settle(request.id, writes.recordAudit(request.entry));
  else {
    // close() makes the writes already queued; their answers go out before the port closes.
    db.close();
    setImmediate(() => {
      answer({ closed: true });
      port.close();
    });
  }
});
