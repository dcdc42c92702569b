/**
 * A SQLite transaction that need not wait for the disk commits with synchronous = normal, and
 * only it: the connection is back to full (every other commit flushed) right after, whether the
 * transaction committed or rolled back. What a transaction writes besides the database and its
 * WAL (the savepoint journals of a group commit) stays in memory, not in files of its own.
 */
import { openSqliteDatabase, type SqliteDatabase } from '../../../src/store/sqlite/sqlite-database.ts';

const FULL = 2;
const NORMAL = 1;
const MEMORY = 2;

describe('SQLite transactions and the disk', () => {
  let db: SqliteDatabase;
  const synchronous = (): number | undefined => db.get<{ synchronous: number }>('pragma synchronous')?.synchronous;

  beforeEach(() => {
    db = openSqliteDatabase({ file: ':memory:' });
    db.exec('create table t (n integer)');
  });
  afterEach(() => {
    db.close();
  });

  it("keeps a group's savepoint journals in memory, not in files of the temp folder", () => {
    expect(db.get<{ temp_store: number }>('pragma temp_store')?.temp_store).toBe(MEMORY);
  });

  it('a transaction waits for the disk unless told otherwise', () => {
    expect(db.transaction(synchronous)).toBe(FULL);
    expect(db.transaction(synchronous, { waitForDisk: true })).toBe(FULL);
  });

  it('waitForDisk: false commits with synchronous = normal, and full is back after the commit', () => {
    expect(
      db.transaction(
        () => {
          db.run('insert into t (n) values (1)');
          return synchronous();
        },
        { waitForDisk: false },
      ),
    ).toBe(NORMAL);
    expect(synchronous()).toBe(FULL);
    expect(db.get<{ n: number }>('select count(*) as n from t')?.n).toBe(1);
  });

  it('full is back after a transaction that did not wait for the disk rolled back', () => {
    expect(() =>
      db.transaction(
        () => {
          db.run('insert into t (n) values (1)');
          throw new Error('refused');
        },
        { waitForDisk: false },
      ),
    ).toThrow('refused');
    expect(synchronous()).toBe(FULL);
    expect(db.get<{ n: number }>('select count(*) as n from t')?.n).toBe(0);
  });
});
