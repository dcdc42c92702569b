/**
 * Version 6: leases on a whole queue (docs/adr/0059-the-relay-leases-the-queue-not-each-row.md).
 * The event relay holds one lease on its queue and reads its due jobs without writing them, where
 * it had written a lease into each job's row: one row write per event fewer, the costliest part of
 * relaying an event. A queue's row is created here, unowned (`expires_at` at the epoch: free).
 */
import type { Migration } from './migration.ts';

export const queueLeases: Migration = {
  version: 6,
  name: 'queue leases: one holder of a whole queue',
  postgres: `
    create table queue_leases (
      queue      text primary key,
      owner      text,
      expires_at timestamptz not null
    );
    insert into queue_leases (queue, owner, expires_at) values ('event-publish', null, 'epoch');
  `,
  sqlite: `
    create table queue_leases (
      queue      text primary key,
      owner      text,
      expires_at integer not null
    ) strict;
    insert into queue_leases (queue, owner, expires_at) values ('event-publish', null, 0);
  `,
};
