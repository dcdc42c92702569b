import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { LAZY_COMMIT } from '../../src/store/postgres/postgres-database.ts';
import { peerEnv } from '../support/peers-env.ts';

describe('PostgreSQL (real server)', () => {
  const pool = new pg.Pool({ connectionString: peerEnv('DATABASE_URL') });
  const schema = `it_${randomBytes(6).toString('hex')}`;

  afterAll(async () => {
    await pool.query(`drop schema if exists ${schema} cascade`);
    await pool.end();
  });

  it('connects with the configured URL, creates a schema, and reads back the row it wrote', async () => {
    await pool.query(`create schema ${schema}`);
    await pool.query(
      `create table ${schema}.submission (id uuid primary key, body jsonb not null, accepted_at timestamptz not null)`,
    );
    const id = '6f1c4e52-5a8b-4c8e-9d7e-3b1f0a2c9d11';
    await pool.query(`insert into ${schema}.submission (id, body, accepted_at) values ($1, $2, $3)`, [
      id,
      { sessionId: 's-1', intervals: 4 },
      '2026-11-23T10:00:00Z',
    ]);
    const { rows } = await pool.query<{ id: string; body: unknown; accepted_at: Date }>(
      `select id, body, accepted_at from ${schema}.submission where id = $1`,
      [id],
    );
    expect(rows).toEqual([
      { id, body: { sessionId: 's-1', intervals: 4 }, accepted_at: new Date('2026-11-23T10:00:00Z') },
    ]);
  });
});

describe('PostgreSQL: a commit that does not wait for the WAL flush', () => {
  // The test peers run with synchronous_commit = off; these connections say `on`, as production does.
  const pool = new pg.Pool({ connectionString: peerEnv('DATABASE_URL'), options: '-c synchronous_commit=on' });
  const setting = async (client: pg.PoolClient, statement = 'select current_setting($1) as value'): Promise<string> =>
    (await client.query<{ value: string }>(statement, ['synchronous_commit'])).rows[0]?.value ?? '';

  afterAll(async () => {
    await pool.end();
  });

  it('a statement with the LAZY_COMMIT CTE turns synchronous_commit off for its own transaction, and only for it', async () => {
    const client = await pool.connect();
    try {
      expect(await setting(client)).toBe('on');
      await client.query('begin');
      // What the statement itself sees, and what the commit of its transaction will read.
      expect(await setting(client, `with ${LAZY_COMMIT} select current_setting($1) as value from lazy_commit`)).toBe(
        'off',
      );
      expect(await setting(client)).toBe('off');
      await client.query('commit');
      expect(await setting(client)).toBe('on');
      // Alone, as the Store sends it: its own (implicit) transaction, and the connection is back to on.
      await client.query(`with ${LAZY_COMMIT} select 1 from lazy_commit`);
      expect(await setting(client)).toBe('on');
    } finally {
      client.release();
    }
  });
});
