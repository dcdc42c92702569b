/**
 * The Store contract (store.contract.ts) against both adapters: SQLite on a temporary file per
 * test, PostgreSQL (the real server from DATABASE_URL) in a fresh random schema per test,
 * dropped afterwards.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { createPostgresStore } from '../../src/store/postgres-store.ts';
import { createSqliteStore } from '../../src/store/sqlite-store.ts';
import type { NewSubmission, Store } from '../../src/store/store.ts';
import { peerEnv } from '../support/peers-env.ts';
import { describeStoreContract, type StoreUnderTest } from './store.contract.ts';
import { describePatientRecordsContract } from './patient-records.contract.ts';
import { describeSubmissionBrowserContract } from './submission-browser.contract.ts';

const sqliteStore = async (): Promise<StoreUnderTest> => {
  const directory = await mkdtemp(join(tmpdir(), 'hit-bridge-store-'));
  // A directory that does not exist yet, as ./data on a fresh machine.
  const file = join(directory, 'data', 'hit-bridge.db');
  const stores: Store[] = [];
  const open = (): Store => {
    const store = createSqliteStore({ file });
    stores.push(store);
    return store;
  };
  return {
    store: open(),
    reopen: () => Promise.resolve(open()),
    peek(statement) {
      const db = new DatabaseSync(file);
      try {
        return Promise.resolve(db.prepare(statement).all() as Record<string, unknown>[]);
      } finally {
        db.close();
      }
    },
    tamper(statement) {
      const db = new DatabaseSync(file);
      try {
        db.exec(statement);
        return Promise.resolve();
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      } finally {
        db.close();
      }
    },
    async cleanup() {
      for (const store of stores) await store.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
};

const postgresStore = (): Promise<StoreUnderTest> => {
  const url = peerEnv('DATABASE_URL');
  const schema = `store_test_${randomBytes(6).toString('hex')}`;
  const pools: pg.Pool[] = [];
  const open = (): Store => {
    // One pool per store: a second store is a second replica with connections of its own.
    const pool = new pg.Pool({ connectionString: url, max: 8 });
    pools.push(pool);
    return createPostgresStore({ pool, schema });
  };
  return Promise.resolve({
    store: open(),
    reopen: () => Promise.resolve(open()),
    async peek(statement) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`set search_path to "${schema}"`);
        return (await client.query<Record<string, unknown>>(statement)).rows;
      } finally {
        await client.end();
      }
    },
    async tamper(statement) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`set search_path to "${schema}"`);
        await client.query(statement);
      } finally {
        await client.end();
      }
    },
    async cleanup() {
      const [first] = pools;
      await first?.query(`drop schema if exists "${schema}" cascade`);
      await Promise.all(pools.map((pool) => pool.end()));
    },
  });
};

describeStoreContract('SQLite (node:sqlite)', sqliteStore);
describeStoreContract('PostgreSQL (pg)', postgresStore);
describeSubmissionBrowserContract('SQLite (node:sqlite)', sqliteStore);
describeSubmissionBrowserContract('PostgreSQL (pg)', postgresStore);
describePatientRecordsContract('SQLite (node:sqlite)', sqliteStore);
describePatientRecordsContract('PostgreSQL (pg)', postgresStore);

describe('Store adapters: failures are the one error type, and say whether to retry', () => {
  it('PostgreSQL: an unreachable server is a retriable 503 problem', async () => {
    const pool = new pg.Pool({ connectionString: 'postgres://nobody:nothing@127.0.0.1:1/none', max: 1 });
    try {
      const store = createPostgresStore({ pool });
      await expect(store.ping()).rejects.toMatchObject({ name: 'Problem', status: 503, retriable: true });
    } finally {
      await pool.end();
    }
  });

  it('PostgreSQL: the audit log refuses TRUNCATE too, for the owner the service connects as', async () => {
    const schema = `audit_test_${randomBytes(6).toString('hex')}`;
    const pool = new pg.Pool({ connectionString: peerEnv('DATABASE_URL'), max: 2 });
    try {
      const store = createPostgresStore({ pool, schema });
      await store.migrate();
      await store.recordAudit({
        at: new Date('2026-03-02T08:00:00Z'),
        clientId: 'c',
        method: 'GET',
        route: '/v1/submissions/:id',
        status: 404,
        requestId: 'r',
      });
      await expect(pool.query(`truncate "${schema}".audit_log`)).rejects.toThrow(/append-only: TRUNCATE refused/);
      expect(await store.auditTrail({ limit: 10 })).toHaveLength(1);
    } finally {
      await pool.query(`drop schema if exists "${schema}" cascade`);
      await pool.end();
    }
  });

  it('PostgreSQL: an input the database refuses fails alone, not the accepts that shared its statement', async () => {
    const schema = `accept_group_${randomBytes(6).toString('hex')}`;
    const pool = new pg.Pool({ connectionString: peerEnv('DATABASE_URL'), max: 2 });
    const at = new Date('2026-03-02T08:00:00Z');
    const submission = (inputId: string, note: string): NewSubmission => ({
      id: randomUUID(),
      kind: 'hit-sessions',
      source: 'clinic-a',
      inputId,
      bodyHash: 'a'.repeat(64),
      body: { sessionId: inputId, note },
      patientKey: 'pk-3f9a1c',
      acceptedAt: at,
    });
    try {
      const store = createPostgresStore({ pool, schema });
      await store.migrate();
      const job = { queue: 'ehr-delivery', payload: {}, runAt: at } as const;
      // Asked for in one turn, so they share a statement. jsonb cannot hold the NUL character.
      const outcomes = await Promise.allSettled([
        store.accept(submission('before', 'fine'), job),
        store.accept(submission('refused', 'a NUL \u0000 here'), job),
        store.accept(submission('after', 'fine'), job),
      ]);
      expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value.outcome : 'refused'))).toEqual([
        'created',
        'refused',
        'created',
      ]);
      expect(await store.findSubmission('clinic-a', 'hit-sessions', 'before')).toBeDefined();
      expect(await store.findSubmission('clinic-a', 'hit-sessions', 'refused')).toBeUndefined();
      expect(await store.findSubmission('clinic-a', 'hit-sessions', 'after')).toBeDefined();
    } finally {
      await pool.query(`drop schema if exists "${schema}" cascade`);
      await pool.end();
    }
  });

  it('PostgreSQL: a schema name that could not be quoted safely is refused', () => {
    const pool = new pg.Pool({ connectionString: 'postgres://nobody@127.0.0.1:1/none' });
    expect(() => createPostgresStore({ pool, schema: 'x"; drop table y; --' })).toThrow(/schema name/);
    return pool.end();
  });

  it('SQLite: an accept resolves only once its row is committed (another connection already sees it)', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'hit-bridge-store-'));
    const file = join(directory, 'hit-bridge.db');
    const store = createSqliteStore({ file });
    const reader = new DatabaseSync(file);
    try {
      await store.migrate();
      const seen = await Promise.all(
        Array.from({ length: 10 }, async (_, index) => {
          const outcome = await store.accept(
            {
              id: randomUUID(),
              kind: 'hit-sessions',
              source: 'clinic-a',
              inputId: `session-commit-${String(index)}`,
              bodyHash: 'a'.repeat(64),
              body: {},
              patientKey: 'pk-3f9a1c',
              acceptedAt: new Date('2026-03-02T08:00:00.000Z'),
            },
            { queue: 'ehr-delivery', payload: null, runAt: new Date('2026-03-02T08:00:00.000Z') },
          );
          if (outcome.outcome !== 'created') throw new Error(outcome.outcome);
          return reader.prepare('select id from submissions where id = ?').get(outcome.submission.id) !== undefined;
        }),
      );
      expect(seen).toEqual(Array.from({ length: 10 }, () => true));
    } finally {
      reader.close();
      await store.close();
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('SQLite: a file locked by another writer past the busy timeout is a retriable 503 problem', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'hit-bridge-store-'));
    const file = join(directory, 'hit-bridge.db');
    const store = createSqliteStore({ file, busyTimeoutMs: 50 });
    const other = new DatabaseSync(file);
    try {
      await store.migrate();
      other.exec('begin immediate');
      await expect(store.log.commitOffset('g', 't', 1)).rejects.toMatchObject({
        name: 'Problem',
        status: 503,
        retriable: true,
      });
      other.exec('rollback');
      await store.log.commitOffset('g', 't', 1);
      expect(await store.log.committedOffset('g', 't')).toBe(1);
    } finally {
      other.close();
      await store.close();
      await rm(directory, { recursive: true, force: true });
    }
  });
});
