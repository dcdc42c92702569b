/**
 * Which commits copy the WAL into the database file (SQLite's automatic checkpoint, which also
 * flushes that file): a connection told to checkpoint only after more pages leaves a WAL of
 * 1,500 pages alone, where SQLite's default of 1,000 has copied them by then. The SQLite Store's
 * event-loop connection is opened so (src/store/sqlite-store.ts), leaving the checkpoints, and
 * their flushes, to the write thread.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteDatabase, type SqliteDatabase } from '../../../src/store/sqlite/sqlite-database.ts';

const PAGE = 4096;

describe('SQLite checkpoints', () => {
  let dir: string;
  const open: SqliteDatabase[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hit-bridge-checkpoint-'));
  });
  afterEach(() => {
    for (const db of open.splice(0)) db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Writes about `pages` pages, ten rows of one page each per transaction; the database file's size after. */
  function fileAfterWriting(pages: number, checkpointAfterPages?: number): number {
    const file = join(dir, `${String(checkpointAfterPages ?? 'default')}.db`);
    const db = openSqliteDatabase({ file, ...(checkpointAfterPages === undefined ? {} : { checkpointAfterPages }) });
    open.push(db);
    db.exec('create table pages (n integer primary key, bytes blob)');
    const before = statSync(file).size;
    for (let n = 0; n < pages; n += 10) {
      db.transaction(
        () => {
          for (let row = n; row < n + 10; row++) db.run('insert into pages values (?, zeroblob(?))', row, PAGE - 100);
        },
        { waitForDisk: false },
      );
    }
    return statSync(file).size - before;
  }

  it('by default, a commit that leaves 1,000 pages in the WAL copies them into the database file', () => {
    // WAL frames count pages written, not distinct pages: some hundreds of them are in the file.
    expect(fileAfterWriting(1_500)).toBeGreaterThan(500 * PAGE);
  });

  it('a connection told to wait for 4,000 pages leaves the database file as it was after 1,500', () => {
    expect(fileAfterWriting(1_500, 4_000)).toBe(0);
  });

  it('and copies them once the WAL holds that many', () => {
    expect(fileAfterWriting(4_500, 4_000)).toBeGreaterThan(2_000 * PAGE);
  });
});
