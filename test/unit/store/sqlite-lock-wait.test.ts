/**
 * A write on the event loop's connection never waits for the write lock by sleeping the thread:
 * while another connection (the store's write thread, another process) holds the lock, the
 * write's promise stays pending, timers and I/O go on, and the write is made once the lock is
 * free — or, past the busy timeout, rejected as a retriable 503 with nothing written.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { openSqliteDatabase, type SqliteDatabase } from '../../../src/store/sqlite/sqlite-database.ts';

const BUSY_TIMEOUT_MS = 10_000;

describe('SQLite: waiting for the write lock another connection holds', () => {
  let directory: string;
  let db: SqliteDatabase;
  let holder: DatabaseSync;
  const count = (): number => db.get<{ n: number }>('select count(*) as n from t')?.n ?? -1;
  const insert = (): Promise<void> =>
    db.settle(() => {
      db.transaction(() => db.run('insert into t (n) values (1)'));
    });

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'hit-bridge-lock-'));
    const file = join(directory, 'hit-bridge.db');
    // Far longer than the lock is held in these tests: a test process stalled for a second by a
    // loaded machine must not run out of it. On the old code the call slept this long in place.
    db = openSqliteDatabase({ file, busyTimeoutMs: BUSY_TIMEOUT_MS });
    db.exec('create table t (n integer)');
    holder = new DatabaseSync(file);
  });
  afterEach(async () => {
    if (holder.isTransaction) holder.exec('rollback');
    holder.close();
    db.close();
    await rm(directory, { recursive: true, force: true });
  });

  it('does not hold up the event loop while the lock is held, and writes once it is let go', async () => {
    holder.exec('begin immediate');
    const ticks: number[] = [];
    const ticking = setInterval(() => ticks.push(performance.now()), 5);
    setTimeout(() => {
      holder.exec('commit');
    }, 100);

    const asked = performance.now();
    const written = insert();
    // SQLite's busy handler would have slept here for the whole busy timeout (the holder lets go
    // from a timer on this same thread, which could not run): the call returns at once.
    expect(performance.now() - asked).toBeLessThan(500);
    await written;
    const done = performance.now();
    clearInterval(ticking);

    expect(count()).toBe(1);
    expect(done - asked).toBeGreaterThanOrEqual(95);
    // The timers ran all along: no gap between ticks anywhere near the busy timeout the old code
    // slept (the bound leaves room for a loaded machine's pauses, not for a sleep in SQLite).
    const gaps = ticks.slice(1).map((at, index) => at - (ticks[index] ?? at));
    expect(ticks.length).toBeGreaterThan(5);
    expect(Math.max(...gaps)).toBeLessThan(BUSY_TIMEOUT_MS / 10);
  });

  it('runs the work again from its start, and writes its rows once', async () => {
    holder.exec('begin immediate');
    setTimeout(() => {
      holder.exec('commit');
    }, 30);
    let runs = 0;
    await db.settle(() => {
      runs += 1;
      db.transaction(() => db.run('insert into t (n) values (?)', runs));
    });
    expect(runs).toBeGreaterThan(1);
    expect(count()).toBe(1);
  });

  it('a lock held past the busy timeout is a retriable 503, and nothing is written', async () => {
    const impatient = openSqliteDatabase({ file: join(directory, 'hit-bridge.db'), busyTimeoutMs: 50 });
    try {
      holder.exec('begin immediate');
      await expect(
        impatient.settle(() => {
          impatient.transaction(() => impatient.run('insert into t (n) values (1)'));
        }),
      ).rejects.toMatchObject({ name: 'Problem', status: 503, retriable: true });
      holder.exec('rollback');
      expect(count()).toBe(0);
    } finally {
      impatient.close();
    }
  });

  it('a write that finds the lock free is made at once, as before', async () => {
    const written = insert();
    // Already committed when settle() returns: only a lock found taken is waited for.
    expect(count()).toBe(1);
    await written;
  });
});
