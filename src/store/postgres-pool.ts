/** The PostgreSQL connection pool: one per process, created by the composition root. */
import pg from 'pg';
import type { ReadinessCheck } from '../platform/readiness.ts';

export function createPostgresPool(url: string): pg.Pool {
  return new pg.Pool({
    connectionString: url,
    max: 10,
    connectionTimeoutMillis: 5_000,
    application_name: 'hit-bridge',
  });
}

export function postgresReadiness(pool: pg.Pool): ReadinessCheck {
  return {
    name: 'postgres',
    critical: true,
    async check() {
      await pool.query('select 1');
    },
  };
}
