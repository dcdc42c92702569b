import { randomBytes } from 'node:crypto';
import pg from 'pg';
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
