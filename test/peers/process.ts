/**
 * The one way the test harness spawns, awaits and stops peer processes.
 * Every peer goes through here so that logging to a file, readiness polling and
 * "leave no process behind" behave the same for Kafka, HAPI FHIR and PostgreSQL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export interface SpawnedProcess {
  readonly child: ChildProcess;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  readonly exited: Promise<number | string>;
}

export function spawnLogged(
  command: string,
  args: readonly string[],
  options: { logFile: string; cwd?: string; env?: NodeJS.ProcessEnv },
): SpawnedProcess {
  mkdirSync(dirname(options.logFile), { recursive: true });
  const log = createWriteStream(options.logFile, { flags: 'a' });
  // detached: the peer gets its own process group, so stop() can kill the JVM and anything it forked.
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      log.end();
      resolve(code ?? signal ?? 'unknown');
    });
    child.once('error', (error) => {
      log.end(`spawn failed: ${error.message}\n`);
      resolve('spawn-error');
    });
  });
  return { child, exited };
}

/** SIGTERM to the whole process group, SIGKILL after the grace period; resolves when the process is gone. */
export async function stopProcess(proc: SpawnedProcess, graceMs = 15_000): Promise<void> {
  const { child } = proc;
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const pid = child.pid;
  signalGroup(pid, 'SIGTERM');
  const timer = setTimeout(() => {
    signalGroup(pid, 'SIGKILL');
  }, graceMs);
  await proc.exited;
  clearTimeout(timer);
  // The leader may exit before its children: make sure nothing of the group survives.
  signalGroup(pid, 'SIGKILL');
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/**
 * Polls `probe` until it resolves truthy. Fails fast if the process exits first, and on timeout
 * names the peer and its log so the reader knows where to look.
 */
export async function waitUntilReady(
  name: string,
  probe: () => Promise<boolean>,
  options: { timeoutMs: number; intervalMs?: number; proc?: SpawnedProcess; logFile?: string },
): Promise<number> {
  const started = Date.now();
  const interval = options.intervalMs ?? 250;
  let exitedWith: number | string | undefined;
  void options.proc?.exited.then((code) => (exitedWith = code));
  let lastError = '';
  while (Date.now() - started < options.timeoutMs) {
    if (exitedWith !== undefined) {
      throw new Error(
        `${name} exited (${String(exitedWith)}) before it became ready; see ${options.logFile ?? 'its log'}`,
      );
    }
    try {
      if (await probe()) return Date.now() - started;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
  throw new Error(
    `${name} was not ready after ${options.timeoutMs} ms (last probe error: ${lastError || 'none'}); see ${options.logFile ?? 'its log'}`,
  );
}

/** Asks the OS for a free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

/** Long-lived cache for downloads and builds, outside the clone so fresh clones reuse it. */
export function defaultCacheDir(): string {
  return process.env.HIT_BRIDGE_CACHE ?? join(homedir(), '.cache', 'hit-bridge');
}
