/**
 * The production Store: PostgreSQL through pg, shared by any number of replicas. Composed of one
 * part per concern under postgres/ over one pool and schema (postgres/postgres-database.ts).
 *
 * - Fencing: a job is held by (lease_owner, attempts) — every claim increments attempts, so even
 *   the same owner claiming the job again after its lease ran out holds a different claim. A job
 *   read under its queue's lease (the event relay's) is held by that lease's owner and the attempt
 *   it was read as (store-rules.ts, stillHeldSql).
 * - migrate(): under a session advisory lock (per schema), each version in its own transaction.
 * - close() does not end the pool: the pool belongs to whoever created it (the composition root).
 */
import type pg from 'pg';
import { migrations, schemaMigrationsTable } from './migrations/index.ts';
import { postgresAudit } from './postgres/postgres-audit.ts';
import { postgresDatabase } from './postgres/postgres-database.ts';
import { postgresEffects } from './postgres/postgres-effects.ts';
import { postgresEventLog } from './postgres/postgres-event-log.ts';
import { postgresHandovers } from './postgres/postgres-handovers.ts';
import { postgresJobs } from './postgres/postgres-jobs.ts';
import { postgresSubmissions } from './postgres/postgres-submissions.ts';
import type { Store } from './store.ts';

export interface PostgresStoreOptions {
  readonly pool: pg.Pool;
  /** Schema holding the tables (created by migrate() if missing); default 'hit_bridge'. */
  readonly schema?: string;
}

/** First key of the two-key advisory lock taken by migrate(); the second is the schema's hash. */
const MIGRATE_LOCK = "hashtext('hit-bridge.migrate')";

export function createPostgresStore(options: PostgresStoreOptions): Store {
  const db = postgresDatabase(options.pool, options.schema ?? 'hit_bridge');
  const effects = postgresEffects(db);
  return {
    ...postgresSubmissions(db, effects),
    ...postgresJobs(db, effects),
    ...postgresHandovers(db, effects),
    ...postgresAudit(db),
    log: postgresEventLog(db),

    async migrate(): Promise<void> {
      await db.withClient(async (client) => {
        // Two replicas starting at once: the second waits here, then finds nothing left to do.
        await client.query(`select pg_advisory_lock(${MIGRATE_LOCK}, hashtext($1))`, [db.schema]);
        try {
          const exists = await client.query('select 1 from pg_namespace where nspname = $1', [db.schema]);
          // Asked first: a database user without CREATE on the database may still use a schema made for it.
          if (exists.rowCount === 0) await client.query(`create schema ${db.quoted}`);
          await client.query(`set search_path to ${db.quoted}`);
          try {
            await client.query(schemaMigrationsTable.postgres);
            const applied = await client.query<{ version: number }>(
              `select version from ${db.tables.schemaMigrations}`,
            );
            const done = new Set(applied.rows.map((row) => row.version));
            for (const migration of migrations) {
              if (done.has(migration.version)) continue;
              await client.query('begin');
              try {
                await client.query(migration.postgres);
                await client.query(`insert into ${db.tables.schemaMigrations} (version, name) values ($1, $2)`, [
                  migration.version,
                  migration.name,
                ]);
                await client.query('commit');
              } catch (error) {
                await client.query('rollback').catch(() => undefined);
                throw error;
              }
            }
          } finally {
            await client.query('reset search_path');
          }
        } finally {
          await client.query(`select pg_advisory_unlock(${MIGRATE_LOCK}, hashtext($1))`, [db.schema]);
        }
      });
    },

    async ping(): Promise<void> {
      await db.query('select 1');
    },

    close(): Promise<void> {
      return Promise.resolve();
    },
  };
}
