/**
 * Version 5: a patient's records by patient key. Under the dips-arena EHR profile the handover
 * reads a stay's prescription, sessions and fitness tests from the store (docs/adr/0028-handover-facts-from-the-store-under-dips-arena.md):
 * one patient's records of a few kinds since a date, which without this index is a scan of every
 * submission. The message browser's patient filter uses it too.
 */
import type { Migration } from './migration.ts';

export const patientRecords: Migration = {
  version: 5,
  name: "patient records: a patient's submissions by kind and time",
  postgres: `create index submissions_patient on submissions (patient_key, kind, accepted_at);`,
  sqlite: `create index submissions_patient on submissions (patient_key, kind, accepted_at);`,
};
