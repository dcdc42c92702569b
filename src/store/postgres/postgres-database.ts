/**
 * The PostgreSQL Store's access to its pool, and the names of its tables.
 *
 * - Everything lives in one schema (default hit_bridge; tests use a fresh random one), and every
 *   statement names it, so the pool may be shared with other users of the database.
 * - A client that saw a driver error is destroyed rather than handed to the next caller.
 * - Failures leave as the one error type, a retriable 503 where trying again can help.
 */
import pg from 'pg';
import { badRequest, normalize, Problem, unavailable } from '../../platform/problem.ts';
import type { SqlDialect } from '../submission-query.ts';

export type Queryable = Pick<pg.PoolClient, 'query'>;

export interface PostgresDatabase {
  readonly schema: string;
  /** The schema's name, quoted for SQL. */
  readonly quoted: string;
  /** Each table's name, qualified by the schema. */
  readonly tables: Readonly<
    Record<
      | 'submissions'
      | 'jobs'
      | 'timeline'
      | 'topicHeads'
      | 'eventLog'
      | 'consumerOffsets'
      | 'schemaMigrations'
      | 'handovers'
      | 'auditLog'
      | 'queueLeases',
      string
    >
  >;
  /** How the message browser's shared SQL is written for this schema (src/store/submission-query.ts). */
  readonly dialect: SqlDialect;
  /** One statement on any pooled connection. */
  query<R extends pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  /** `work` on one connection of its own. */
  withClient<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  /** `work` inside BEGIN … COMMIT on one connection; rolled back if it throws. */
  transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T>;
}

/**
 * A CTE that makes the statement's transaction commit without waiting for the WAL flush
 * (`synchronous_commit = off` for that transaction only, as SET LOCAL would, but without a round
 * trip of its own); the statement must read it (`from …, lazy_commit`) so that it runs. A crash of
 * the server may then undo the transaction — whole, never half — so it is only for writes whose
 * loss means work done again (docs/adr/0036-relay-commits-without-flush.md).
 */
export const LAZY_COMMIT = `lazy_commit as materialized (select set_config('synchronous_commit', 'off', true))`;

/** SQLSTATEs that mean "try again": connection lost, server shutting down, overloaded, lock conflicts. */
const TRANSIENT_SQLSTATE = /^(08|53|57P0[123]|40001|40P01|55P03)/;
const TRANSIENT_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

export function postgresDatabase(pool: pg.Pool, schema: string): PostgresDatabase {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw badRequest(`The store's schema name "${schema}" must be lower-case letters, digits and _ (at most 63).`);
  }
  const quoted = `"${schema}"`;
  const tables = {
    submissions: `${quoted}.submissions`,
    jobs: `${quoted}.jobs`,
    timeline: `${quoted}.timeline`,
    topicHeads: `${quoted}.topic_heads`,
    eventLog: `${quoted}.event_log`,
    consumerOffsets: `${quoted}.consumer_offsets`,
    schemaMigrations: `${quoted}.schema_migrations`,
    handovers: `${quoted}.handovers`,
    auditLog: `${quoted}.audit_log`,
    queueLeases: `${quoted}.queue_leases`,
  };

  async function withClient<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw postgresError(error);
    }
    let broken: Error | undefined;
    try {
      return await work(client);
    } catch (error) {
      // Our own Problems leave the connection as it was; anything from the driver may not have.
      if (!(error instanceof Problem)) broken = error instanceof Error ? error : new Error(String(error));
      throw postgresError(error);
    } finally {
      client.release(broken);
    }
  }

  return {
    schema,
    quoted,
    tables,
    dialect: {
      placeholder: (n) => `$${n}`,
      time: (at) => at,
      jsonField: (column, field) => `${column}->>'${field}'`,
      containsIgnoringCase: (text, part) => `strpos(lower(${text}), lower(${part})) > 0`,
      timeline: tables.timeline,
    },
    async query<R extends pg.QueryResultRow>(text: string, params: unknown[] = []) {
      try {
        return await pool.query<R>(text, params);
      } catch (error) {
        throw postgresError(error);
      }
    },
    withClient,
    transaction: (work) =>
      withClient(async (client) => {
        await client.query('begin');
        try {
          const result = await work(client);
          await client.query('commit');
          return result;
        } catch (error) {
          await client.query('rollback').catch(() => undefined);
          throw error;
        }
      }),
  };
}

function postgresError(error: unknown): Error {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : '';
  const transient =
    (typeof code === 'string' && (TRANSIENT_SQLSTATE.test(code) || TRANSIENT_ERRNO.has(code))) ||
    /Connection terminated|timeout exceeded when trying to connect/i.test(message);
  if (transient) {
    return Object.assign(unavailable('The database is unreachable or overloaded; try again.'), { cause: error });
  }
  return normalize(error);
}
