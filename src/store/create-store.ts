/** Picks the Store adapter from the configuration: PostgreSQL when DATABASE_URL is set, else SQLite under DATA_DIR. */
import { join } from 'node:path';
import type { Config } from '../platform/config.ts';
import type { Logger } from '../platform/logger.ts';
import type { Store } from './store.ts';

export interface ConfiguredStore {
  readonly store: Store;
  /** 'postgres' or 'sqlite', for readiness and logs. */
  readonly engine: 'postgres' | 'sqlite';
  close(): Promise<void>;
}

/** Loads only the adapter the configuration picks: the other one's driver and code stay out of memory. */
export async function createConfiguredStore(config: Config, logger: Logger): Promise<ConfiguredStore> {
  if (config.DATABASE_URL !== undefined) {
    const [{ createPostgresPool }, { createPostgresStore }] = await Promise.all([
      import('./postgres-pool.ts'),
      import('./postgres-store.ts'),
    ]);
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
  const { createSqliteStore } = await import('./sqlite-store.ts');
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
