/**
 * The one way the test harness spawns, awaits and stops peer processes.
 * Every peer goes through here so that logging to a file, readiness polling and
 * "leave no process behind" behave the same for Kafka, HAPI FHIR and PostgreSQL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
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
  options: { logFile: string; cwd?: string; env?: NodeJS.ProcessEnv; uid?: number; gid?: number },
): SpawnedProcess {
  mkdirSync(dirname(options.logFile), { recursive: true });
  // The child writes to the log file itself (no pipe through us), so a peer started by
  // `npm run peers:up` keeps running and logging after that command has exited.
  const logFd = openSync(options.logFile, 'a');
  // detached: the peer leads its own process group, so stopping it also stops whatever it forked.
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', logFd, logFd],
    detached: true,
    ...(options.uid === undefined ? {} : { uid: options.uid }),
    ...(options.gid === undefined ? {} : { gid: options.gid }),
  });
  closeSync(logFd);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve(code ?? signal ?? 'unknown');
    });
    child.once('error', () => {
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

/**
 * Stops a process group we no longer hold a handle to (a peer left running by `peers:up`):
 * SIGTERM, then SIGKILL after the grace period; resolves when the group leader is gone.
 */
export async function stopProcessGroup(pid: number, graceMs = 15_000): Promise<void> {
  signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  signalGroup(pid, 'SIGKILL');
}

/** Whether a process with this id still exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
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
 * names the peer and its log so the reader knows where to look. A process that never became
 * ready is stopped before the error is thrown: a failed start leaves nothing behind.
 */
export async function waitUntilReady(
  name: string,
  probe: () => Promise<boolean>,
  options: { timeoutMs: number; intervalMs?: number; proc?: SpawnedProcess; logFile?: string },
): Promise<number> {
  try {
    return await pollUntilReady(name, probe, options);
  } catch (error) {
    if (options.proc) await stopProcess(options.proc);
    throw error;
  }
}

async function pollUntilReady(
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
