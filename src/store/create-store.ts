/** Picks the Store adapter from the configuration: PostgreSQL when DATABASE_URL is set, else SQLite under DATA_DIR. */
import { join } from 'node:path';
import type { Config } from '../platform/config.ts';
import type { Logger } from '../platform/logger.ts';
import { createPostgresPool } from './postgres-pool.ts';
import { createPostgresStore } from './postgres-store.ts';
import { createSqliteStore } from './sqlite-store.ts';
import type { Store } from './store.ts';

export interface ConfiguredStore {
  readonly store: Store;
  /** 'postgres' or 'sqlite', for readiness and logs. */
  readonly engine: 'postgres' | 'sqlite';
  close(): Promise<void>;
}

export function createConfiguredStore(config: Config, logger: Logger): ConfiguredStore {
  if (config.DATABASE_URL !== undefined) {
    const pool = createPostgresPool(withPassword(config.DATABASE_URL, config.DATABASE_PASSWORD), logger);
    const store = createPostgresStore({ pool });
    return {
      store,
      engine: 'postgres',
      async close() {
        try {
          await store.close();
        } finally {
          await pool.end();
        }
      },
    };
  }
  const store = createSqliteStore({ file: join(config.DATA_DIR, 'hit-bridge.db') });
  return { store, engine: 'sqlite', close: () => store.close() };
}

/** The URL with DATABASE_PASSWORD as its password (pg lets a URL's parts win over separate options). */
export function withPassword(url: string, password: string | undefined): string {
  if (password === undefined) return url;
  const parsed = new URL(url);
  parsed.password = encodeURIComponent(password);
  return parsed.toString();
}
