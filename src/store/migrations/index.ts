/** Every migration, in order. A new version is a new module appended here, never an edit of an old one. */
import { initial } from './001-initial.ts';
import { handovers } from './002-handovers.ts';
import { auditLog } from './003-audit-log.ts';
import { retention } from './004-retention.ts';
import { patientRecords } from './005-patient-records.ts';
import { queueLeases } from './006-queue-leases.ts';
import { completionNotes } from './007-completion-notes.ts';
import type { Migration } from './migration.ts';

export type { Migration } from './migration.ts';

export const migrations: readonly Migration[] = [
  initial,
  handovers,
  auditLog,
  retention,
  patientRecords,
  queueLeases,
  completionNotes,
];

/** The tables holding the schema's history, per dialect (created before any migration runs). */
export const schemaMigrationsTable = {
  postgres: `create table if not exists schema_migrations (
    version    integer primary key,
    name       text not null,
    applied_at timestamptz not null default now()
  )`,
  sqlite: `create table if not exists schema_migrations (
    version    integer primary key,
    name       text not null,
    applied_at integer not null
  ) strict`,
} as const;
