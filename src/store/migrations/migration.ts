/**
 * A schema migration: one version, both dialects. Migrations are applied in version order, each
 * in its own transaction, and recorded in schema_migrations (version, name, applied_at); an
 * applied version is never run again. They only add: no DROP, no destructive ALTER, no DELETE —
 * a test (migrations.test.ts) holds every file to that.
 */
export interface Migration {
  /** 1, 2, 3, … without gaps. */
  readonly version: number;
  /** What it does, in a few words (stored in schema_migrations). */
  readonly name: string;
  /** Statements for PostgreSQL, run with search_path set to the store's schema. */
  readonly postgres: string;
  /** Statements for SQLite. */
  readonly sqlite: string;
}
