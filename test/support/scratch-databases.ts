/**
 * A PostgreSQL database of its own per suite on the shared peer: other runs' workers on the same
 * server must not claim this suite's jobs. Dropped (with force) when the suite ends.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { peerEnv } from './peers-env.ts';

export interface ScratchDatabases {
  /** Creates a database named `hb_<prefix>_<random>` and returns its URL. */
  create(): Promise<string>;
  /** Drops every database this set created. */
  dropAll(): Promise<void>;
}

export function scratchDatabases(prefix: string): ScratchDatabases {
  const created: string[] = [];
  const withAdmin = async (work: (admin: pg.Client) => Promise<void>): Promise<void> => {
    const admin = new pg.Client({ connectionString: peerEnv('DATABASE_URL') });
    await admin.connect();
    try {
      await work(admin);
    } finally {
      await admin.end();
    }
  };
  return {
    async create() {
      const name = `hb_${prefix}_${randomBytes(4).toString('hex')}`;
      await withAdmin(async (admin) => {
        await admin.query(`create database ${name}`);
      });
      created.push(name);
      const url = new URL(peerEnv('DATABASE_URL'));
      url.pathname = `/${name}`;
      return url.toString();
    },
    async dropAll() {
      await withAdmin(async (admin) => {
        for (const name of created.splice(0)) await admin.query(`drop database if exists ${name} with (force)`);
      });
    },
  };
}
