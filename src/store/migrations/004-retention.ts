/**
 * Version 4: retention. A submission's body (the personal data) is replaced by JSON null when
 * retention erases it, and body_erased_at says when; the column stays NOT NULL (JSON null is a
 * value), so nothing about the existing table changes. The partial index serves the sweep: it
 * only looks at submissions still holding a body.
 */
import type { Migration } from './migration.ts';

export const retention: Migration = {
  version: 4,
  name: 'retention: when a submission body was erased',
  postgres: `
    alter table submissions add column body_erased_at timestamptz;
    create index submissions_retention on submissions (updated_at) where body_erased_at is null;
  `,
  sqlite: `
    alter table submissions add column body_erased_at integer;
    create index submissions_retention on submissions (updated_at) where body_erased_at is null;
  `,
};
