/**
 * Runs the service as a real child process (as `npm start` does) and reads its JSON log lines,
 * so tests can wait for "listening" instead of sleeping, and assert on what it logged.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly lines: Record<string, unknown>[];
  readonly stderr: () => string;
  /** Resolves with the first log line that matches. */
  waitForLine(
    predicate: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  readonly exited: Promise<number | null>;
  /**
   * Signals the whole process group. `npm start` runs the service under `sh -c`, and Debian's sh
   * does not exec it: a signal to npm alone would orphan the service with our pipes still open.
   */
  signal(signal: NodeJS.Signals): void;
}

export function spawnService(command: string, args: string[], env: Record<string, string | undefined>): ServiceProcess {
  // A variable given as undefined is removed, e.g. to run on embedded defaults inside the peers' environment.
  const merged = Object.fromEntries(
    Object.entries({ ...process.env, ...env }).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  const child = spawn(command, args, {
    env: merged,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const lines: Record<string, unknown>[] = [];
  const waiters: {
    predicate: (line: Record<string, unknown>) => boolean;
    resolve: (line: Record<string, unknown>) => void;
  }[] = [];
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  createInterface({ input: child.stdout }).on('line', (text) => {
    if (!text.startsWith('{')) return; // npm's own banner lines
    const line = JSON.parse(text) as Record<string, unknown>;
    lines.push(line);
    for (const waiter of waiters.filter((candidate) => candidate.predicate(line))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(line);
    }
  });
  const exited = new Promise<number | null>((resolve) => {
    // 'close', not 'exit': only then are its stdout and stderr pipes closed as well.
    child.once('close', (code) => {
      resolve(code);
    });
  });
  return {
    child,
    lines,
    stderr: () => stderr,
    exited,
    signal(signal) {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // ESRCH: already gone.
      }
    },
    waitForLine(predicate, timeoutMs = 20_000) {
      const seen = lines.find(predicate);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`no matching log line within ${timeoutMs} ms; stderr: ${stderr}`));
        }, timeoutMs);
        waiters.push({
          predicate,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
      });
    },
  };
}
