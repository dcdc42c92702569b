/**
 * Starts the real peers the contract and integration tests need — Kafka, HAPI FHIR (the EHR)
 * and PostgreSQL — in parallel, as local processes (or containers where a Docker engine
 * answers), and stops them all if any fails.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startHapi } from './hapi.ts';
import { startKafka } from './kafka.ts';
import type { PeerOptions, RunningPeer } from './peer.ts';
import { startPostgres } from './postgres.ts';
import { defaultCacheDir } from './process.ts';

export type PeerName = 'kafka' | 'hapi' | 'postgres';
export const ALL_PEERS: readonly PeerName[] = ['kafka', 'hapi', 'postgres'];

const starters: Record<PeerName, (options: PeerOptions) => Promise<RunningPeer>> = {
  kafka: startKafka,
  hapi: startHapi,
  postgres: startPostgres,
};

export interface StartPeersOptions {
  /** The project's root; peers' data and logs go to <root>/.peers/<name>/ (git-ignored). */
  readonly rootDir: string;
  readonly peers?: readonly PeerName[];
}

export function peersDir(rootDir: string): string {
  return join(rootDir, '.peers');
}

export async function startPeers(options: StartPeersOptions): Promise<RunningPeer[]> {
  const names = options.peers ?? ALL_PEERS;
  if (await dockerEngineAnswers()) {
    const { startContainers } = await import('./containers.ts');
    return startContainers(names);
  }
  const cacheDir = defaultCacheDir();
  mkdirSync(cacheDir, { recursive: true });
  const results = await Promise.allSettled(
    names.map((name) => {
      const workDir = join(peersDir(options.rootDir), name);
      rmSync(workDir, { recursive: true, force: true });
      mkdirSync(workDir, { recursive: true });
      return starters[name]({ workDir, cacheDir });
    }),
  );
  const started = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
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
