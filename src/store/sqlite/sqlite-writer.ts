/**
 * The SQLite Store's write thread (see sqlite-grouped-writes.ts): its own connection to the file,
 * the same group commit as on the main thread, and an answer per write once its COMMIT returned.
 * Requests that arrive while a group is on its way to the disk wait for the next group.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openSqliteDatabase } from './sqlite-database.ts';
import { sqliteEffects } from './sqlite-effects.ts';
import type { WriteAnswer, WriteMessage, WriteRequest } from './sqlite-grouped-writes.ts';
import { insertAudit } from './sqlite-audit.ts';
import { acceptWithin } from './sqlite-submissions.ts';

const port = parentPort;
if (port === null) throw new Error('sqlite-writer.ts runs as a worker thread of the SQLite Store');

/** Answers wait for the end of the turn: a group's writes settle together, and go back in one message. */
let outbox: WriteAnswer[] = [];
function sendAnswers(): void {
  const answers = outbox;
  outbox = [];
  if (answers.length > 0) port?.postMessage(answers);
}
const answer = (message: WriteAnswer): void => {
  outbox.push(message);
  if (outbox.length === 1) setImmediate(sendAnswers);
};

const { file, busyTimeoutMs } = workerData as { file: string; busyTimeoutMs: number | undefined };
const db = openSqliteDatabase({
  file,
  ...(busyTimeoutMs === undefined ? {} : { busyTimeoutMs }),
  onGroupCommit: (size) => {
    answer({ group: size });
  },
});
const effects = sqliteEffects(db);

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

function write(request: WriteRequest): void {
  if (request.op === 'accept') {
    const { input, bodyText, firstJob } = request;
    settle(
      request.id,
      db.grouped(() => acceptWithin(db, effects, input, firstJob, bodyText)),
    );
  } else {
    settle(
      request.id,
      db.grouped(() => {
        insertAudit(db, request.entry);
      }),
    );
  }
}

port.on('message', (message: WriteMessage) => {
  if ('writes' in message) {
    for (const request of message.writes) write(request);
    return;
  }
  // close() makes the writes already queued; their answers (settled by the next microtasks) go
  // out before the port closes.
  db.close();
  setImmediate(() => {
    outbox.push({ closed: true });
    sendAnswers();
    port.close();
  });
});
