/**
 * A real PostgreSQL server for the tests, from Debian's packages (initdb + postgres), in a
 * fresh data directory per run, listening on 127.0.0.1 only, with password (SCRAM) auth.
 */
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { PeerOptions, RunningPeer } from './peer.ts';
import { freePort, spawnLogged, stopProcess, waitUntilReady } from './process.ts';

const USER = 'hitbridge';
const DATABASE = 'postgres';

export interface PostgresOptions extends PeerOptions {
  /**
   * Flush commits to disk as a production server does. Off by default: for the tests' throwaway
   * databases durability across power loss buys nothing; the bench turns it on, because its
   * accept figures are about a 202 being on disk.
   */
  readonly durable?: boolean;
}

export async function startPostgres(options: PostgresOptions): Promise<RunningPeer> {
  const bin = postgresBinDir();
  const port = options.port ?? (await freePort());
  const dataDir = join(options.workDir, 'data');
  const logFile = join(options.workDir, 'postgres.log');
  const password = randomBytes(18).toString('base64url');
  const runAs = unprivilegedUser();

  mkdirSync(dataDir, { recursive: true });
  const pwFile = join(options.workDir, 'pwfile');
  writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
  if (runAs) {
    chownSync(options.workDir, runAs.uid, runAs.gid);
    chownSync(dataDir, runAs.uid, runAs.gid);
    chownSync(pwFile, runAs.uid, runAs.gid);
  }
  const ids = runAs ? { uid: runAs.uid, gid: runAs.gid } : {};

  const initdb = spawnLogged(
    join(bin, 'initdb'),
    ['-D', dataDir, '-U', USER, `--pwfile=${pwFile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--no-sync'],
    { logFile, ...ids },
  );
  const initCode = await initdb.exited;
  if (initCode !== 0) throw new Error(`initdb failed (${String(initCode)}); see ${logFile}`);

  const started = Date.now();
  const server = spawnLogged(
    join(bin, 'postgres'),
    [
      '-D',
      dataDir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      // The unix socket goes into the data dir: /var/run/postgresql may not exist or be ours.
      '-c',
      `unix_socket_directories=${dataDir}`,
      ...(options.durable === true
        ? []
        : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
      '-c',
      'max_connections=200',
    ],
    { logFile, ...ids },
  );
  const url = `postgres://${USER}:${password}@127.0.0.1:${port}/${DATABASE}`;
  await waitUntilReady('PostgreSQL', () => canQuery(url), {
    timeoutMs: options.readyTimeoutMs ?? 60_000,
    proc: server,
    logFile,
  });
  return {
    name: 'postgres',
    url: `postgres://${USER}@127.0.0.1:${port}/${DATABASE}`,
    env: { DATABASE_URL: url },
    logFile,
    pid: server.child.pid ?? 0,
    readyMs: Date.now() - started,
    stop: () => stopProcess(server),
  };
}

async function canQuery(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The newest PostgreSQL installed from Debian's packages (/usr/lib/postgresql/<major>/bin). */
function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root)
    ? readdirSync(root)
        .filter((name) => /^\d+$/.test(name) && existsSync(join(root, name, 'bin', 'postgres')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const newest = majors[0];
  if (newest === undefined) {
    throw new Error(
      'PostgreSQL server binaries not found under /usr/lib/postgresql; install the Debian package "postgresql"',
    );
  }
  return join(root, newest, 'bin');
}

/** PostgreSQL refuses to run as root; when we are root, run it as the Debian "postgres" user. */
function unprivilegedUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) {
    throw new Error(
      'running as root, but there is no "postgres" user to run PostgreSQL as; install the Debian package "postgresql"',
    );
  }
  return { uid: Number(uid), gid: Number(gid) };
}
