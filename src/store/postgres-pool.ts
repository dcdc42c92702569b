/** The PostgreSQL connection pool: one per process, created by the composition root. */
import pg from 'pg';
import type { Logger } from '../platform/logger.ts';

export function createPostgresPool(url: string, logger: Logger): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    connectionTimeoutMillis: 5_000,
    application_name: 'hit-bridge',
  });
  // An idle connection the server drops (a restart, a failover, an administrator) surfaces as an
  // 'error' event on the pool; unheard, it would crash the process. The pool replaces the
  // connection, and the next query in trouble is retried by its worker.
  pool.on('error', (error) => {
    logger.warn({ err: error }, 'PostgreSQL dropped an idle connection; the pool will open a new one');
  });
  return pool;
}
