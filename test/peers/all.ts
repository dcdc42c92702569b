/**
 * Starts the real peers the contract and integration tests need — Kafka, HAPI FHIR (the EHR),
 * PostgreSQL and Keycloak (the authorization server) — in parallel, as local processes (or containers where a Docker engine
 * answers), and stops them all if any fails.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startHapi, type HapiOptions } from './hapi.ts';
import { startHapiDips } from './hapi-dips.ts';
import { startKafka } from './kafka.ts';
import type { PeerOptions, RunningPeer } from './peer.ts';
import { startKeycloak } from './keycloak.ts';
import { REALM } from './keycloak-realm.ts';
import { startPostgres, type PostgresOptions } from './postgres.ts';
import { defaultCacheDir, freePort, isAlive } from './process.ts';

export type PeerName = 'kafka' | 'hapi' | 'hapi-dips' | 'postgres' | 'keycloak';
export const ALL_PEERS: readonly PeerName[] = ['kafka', 'hapi', 'hapi-dips', 'postgres', 'keycloak'];

const starters: Record<PeerName, (options: PeerOptions & HapiOptions & PostgresOptions) => Promise<RunningPeer>> = {
  kafka: startKafka,
  hapi: startHapi,
  'hapi-dips': startHapiDips,
  postgres: startPostgres,
  keycloak: startKeycloak,
};

export interface StartPeersOptions {
  /** Where peers keep data and logs: <runDir>/<name>/ (under the git-ignored .peers/). */
  readonly runDir: string;
  readonly peers?: readonly PeerName[];
  /** PostgreSQL flushes its commits (the bench's accept figures are about a 202 being on disk). */
  readonly durablePostgres?: boolean;
}

/**
 * One directory per kind of run — `npm test` and `npm run peers:up` — so a test run never wipes
 * the data of peers a person left running. A run whose directory is held by a live process is
 * refused rather than allowed to trample it.
 */
export function claimRunDir(rootDir: string, run: 'test' | 'up' | 'demo'): string {
  const runDir = join(rootDir, '.peers', run);
  mkdirSync(runDir, { recursive: true });
  const lock = join(runDir, 'owner.pid');
  const owner = existsSync(lock) ? Number(readFileSync(lock, 'utf8')) : undefined;
  if (owner !== undefined && owner !== process.pid && isAlive(owner)) {
    throw new Error(`${runDir} is in use by process ${owner}; wait for it or stop it first`);
  }
  writeFileSync(lock, String(process.pid));
  return runDir;
}

export async function startPeers(options: StartPeersOptions): Promise<RunningPeer[]> {
  const requested = options.peers ?? ALL_PEERS;
  // No container here: Keycloak always runs from its Maven Central distribution, and the
  // DIPS-configured HAPI needs our launcher's profile enforcement.
  const containerised: PeerName[] = (await dockerEngineAnswers())
    ? requested.filter((name) => name !== 'keycloak' && name !== 'hapi-dips')
    : [];
  const names = requested.filter((name) => !containerised.includes(name));
  const cacheDir = defaultCacheDir();
  mkdirSync(cacheDir, { recursive: true });
  // HAPI learns Keycloak's issuer up front (it fetches the keys lazily), so both start at once.
  const keycloakPort = names.includes('keycloak') ? (configuredPort('keycloak') ?? (await freePort())) : undefined;
  // A busy machine starts JVMs slowly: HIT_BRIDGE_PEER_READY_TIMEOUT_MS overrides each peer's own bound.
  const readyTimeoutMs = positiveNumber('HIT_BRIDGE_PEER_READY_TIMEOUT_MS');
  const results = await Promise.allSettled([
    ...(containerised.length > 0
      ? [import('./containers.ts').then(({ startContainers }) => startContainers(containerised))]
      : []),
    ...names.map(async (name) => {
      const workDir = join(options.runDir, name);
      rmSync(workDir, { recursive: true, force: true });
      mkdirSync(workDir, { recursive: true });
      const port = name === 'keycloak' ? keycloakPort : configuredPort(name);
      const authIssuer =
        name === 'hapi' && keycloakPort !== undefined ? `http://127.0.0.1:${keycloakPort}/realms/${REALM}` : undefined;
      return [
        await starters[name]({
          workDir,
          cacheDir,
          ...(port === undefined ? {} : { port }),
          ...(authIssuer === undefined ? {} : { authIssuer }),
          ...(readyTimeoutMs === undefined ? {} : { readyTimeoutMs }),
          ...(name === 'postgres' && options.durablePostgres === true ? { durable: true } : {}),
        }),
      ];
    }),
  ]);
  const started = results.flatMap((result) => (result.status === 'fulfilled' ? result.value : []));
  const failures = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
  if (failures.length > 0) {
    await stopPeers(started);
    throw new AggregateError(failures, failures.map((failure) => describe(failure)).join('; '));
  }
  return started;
}

export async function stopPeers(peers: readonly RunningPeer[]): Promise<void> {
  await Promise.allSettled(peers.map((peer) => peer.stop()));
}

export function peerEnv(peers: readonly RunningPeer[]): Record<string, string> {
  return Object.assign({}, ...peers.map((peer) => peer.env)) as Record<string, string>;
}

/** The lines `npm run peers:up` prints: KEY=value, shell-quoted so `eval` takes them as they are. */
export function envLines(env: Readonly<Record<string, string>>): string[] {
  return Object.entries(env).map(([key, value]) => `${key}='${value.replaceAll("'", "'\\''")}'`);
}

/** HIT_BRIDGE_KAFKA_PORT, …_HAPI_PORT, …_POSTGRES_PORT, …_KEYCLOAK_PORT: fixed ports; unset picks free ones. */
function configuredPort(name: PeerName): number | undefined {
  const variable = `HIT_BRIDGE_${name.toUpperCase().replace('-', '_')}_PORT`;
  const value = process.env[variable];
  if (value === undefined || value === '') return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`${variable} must be a port number (got "${value}")`);
  return port;
}

function positiveNumber(variable: string): number | undefined {
  const value = process.env[variable];
  if (value === undefined || value === '') return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0)
    throw new Error(`${variable} must be a positive whole number (got "${value}")`);
  return number;
}

/** Testcontainers is used only where a Docker engine really answers (a client alone is not enough). */
async function dockerEngineAnswers(): Promise<boolean> {
  if (process.env.HIT_BRIDGE_PEERS === 'local') return false;
  try {
    await promisify(execFile)('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 5_000 });
    return true;
  } catch {
    return false;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
