/**
 * Version 7: a note on a finished job's own row
 * (docs/adr/0060-the-relay-notes-a-publish-on-the-job-not-the-timeline.md). The event relay keeps
 * each "event published" entry (topic, partition, offset) in the row its marking updates anyway,
 * where it had inserted a timeline row and two index entries more per event: about half of what
 * marking a batch cost the PostgreSQL server. A submission's timeline shows the notes of its jobs
 * among its entries. Rows written before this version have none (null).
 */
import type { Migration } from './migration.ts';

export const completionNotes: Migration = {
  version: 7,
  name: 'completion notes: a timeline entry kept on the finished job',
  postgres: `alter table jobs add column completion_note text;`,
  sqlite: `alter table jobs add column completion_note text;`,
};
