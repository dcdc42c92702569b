/**
 * hit-bridge as the benchmark runs it: a real child process (`hit-bridge serve`), its log in a
 * file rather than a pipe (parsing thousands of log lines would cost the benchmark's own CPU),
 * and its peak RSS and CPU time read from /proc, which sees the service alone.
 */
import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface BenchService {
  readonly url: string;
  readonly pid: number;
  readonly logFile: string;
  /** Milliseconds from spawning the process to the first 2xx answer of the path waited for. */
  readonly readyMs: number;
  /** CPU seconds (user + system) the process has used so far. */
  cpuSeconds(): number;
  /** Peak resident set size so far, in MB (10^6 bytes; the kernel's high-water mark, VmHWM). */
  peakRssMB(): number;
  /** Resident set size now, in MB (VmRSS). */
  rssMB(): number;
  /**
   * Bytes the process has had written to the disk so far (/proc/<pid>/io write_bytes, counted
   * when it dirties page cache): its SQLite file, WAL and log file; not what a peer wrote.
   */
  diskWriteBytes(): number;
  stop(): Promise<void>;
}

/**
 * The flags `npm start` (package.json) and the image (the Dockerfile's CMD) run the service with;
 * test/deploy/dockerfile.test.ts holds the three places together. A young generation of at most
 * 2 × 8 MB semi-spaces: left alone, V8 sizes it from the machine's memory and grows it to
 * 2 × 64 MB under load, nearly all of it garbage between scavenges
 * (docs/adr/0040-young-generation-capped.md). An old generation that may grow by a quarter past
 * what the last full collection left, not up to 4×: under load it fills with requests that
 * outlived two scavenges (docs/adr/0052-old-generation-grows-by-a-quarter.md). V8's gc
 * extension, through which the service gives back start-up's garbage once ready
 * (docs/adr/0051-start-up-garbage-released-once-ready.md). No Maglev, V8's middle compiler: its
 * compiles at start-up and under load left 10–16 MB in malloc's arenas, and hot code reaches
 * TurboFan without it (docs/adr/0054-no-maglev.md). V8's background threads (concurrent marking,
 * parallel scavenges, TurboFan's compiles) one fewer than the cores the process may use, not
 * Node's fixed four: on two cores, four helpers and the event loop took turns, and a scavenge
 * waited for helpers that were waiting for a core (docs/adr/0057-v8-helpers-fit-the-cores.md).
 */
export const PRODUCTION_NODE_FLAGS: readonly string[] = [
  '--max-semi-space-size=8',
  '--heap-growing-percent=25',
  '--no-maglev',
  '--expose-gc',
  '--v8-pool-size=0',
];

/**
 * The environment `npm start` and the image add for the C library, held together with the flags
 * above by the same test. glibc gives a thread that finds the allocator busy an arena of its own
 * (up to 8 per core); how many V8's and libuv's threads get at start-up depends on how much they
 * ran at once, and each kept 1–4 MB resident: the idle RSS moved by 10 MB between starts of the
 * same build. Two arenas hold it steady (docs/adr/0048-two-malloc-arenas.md).
 */
export const PRODUCTION_ENVIRONMENT: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };

const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function cpuSecondsOf(pid: number): number {
  // Fields after the command name (which may hold spaces, so split after its closing paren).
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name and state.
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

function statusMBOf(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
  if (!match) throw new Error(`no ${field} for process ${pid}`);
  return (Number(match[1]) * 1024) / 1e6;
}

function diskWriteBytesOf(pid: number): number {
  const match = /^write_bytes: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
  if (!match) throw new Error(`no write_bytes for process ${pid}`);
  return Number(match[1]);
}

function peakRssMBOf(pid: number): number {
  return statusMBOf(pid, 'VmHWM');
}

function rssMBOf(pid: number): number {
  return statusMBOf(pid, 'VmRSS');
}

/**
 * Starts `hit-bridge serve [--roles …]` with `env` on top of a clean environment (only PATH and
 * HOME are inherited, so the peers' variables reach it only when given), waits for `waitFor`
 * (/healthz unless told) to answer 2xx, polling every `pollMs` (100 unless told).
 */
export async function startBenchService(options: {
  readonly env: Readonly<Record<string, string>>;
  readonly roles?: string;
  readonly logDir: string;
  readonly name: string;
  readonly waitFor?: '/healthz' | '/readyz';
  /** The hit-bridge command's entry point: the TypeScript sources unless told (e.g. a build of them). */
  readonly entry?: string;
  /** Node's own flags, before the entry point (PRODUCTION_NODE_FLAGS to run it as deployed). */
  readonly nodeFlags?: readonly string[];
  readonly pollMs?: number;
}): Promise<BenchService> {
  const port = await freePort();
  const logFile = join(options.logDir, `${options.name}.log`);
  const out = openSync(logFile, 'w');
  const waitFor = options.waitFor ?? '/healthz';
  const args = [
    ...(options.nodeFlags ?? []),
    // For profiling a part's services (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`): Node refuses
    // those flags in NODE_OPTIONS, and the services inherit no environment but PATH and HOME.
    ...(process.env.BENCH_SERVICE_NODE_FLAGS ?? '').split(' ').filter((flag) => flag !== ''),
    options.entry ?? 'src/cli/hit-bridge.ts',
    'serve',
    ...(options.roles === undefined ? [] : ['--roles', options.roles]),
  ];
  const spawnedAt = performance.now();
  const child: ChildProcess = spawn(process.execPath, args, {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PORT: String(port),
      HOST: '127.0.0.1',
      // As `npm start` runs it (dev.env): the bench measures the bridge's own work, and there is
      // no authorization server among the peers. Token checks are not in these figures.
      AUTH_MODE: 'off',
      // The load generator is one client on one address: the per-client limit would answer 429
      // from 20 req/s on, and the bench would measure the limiter, not the bridge.
      RATE_LIMIT_PER_SECOND: '100000',
      RATE_LIMIT_BURST: '100000',
      ...options.env,
    },
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  const exited = once(child, 'exit');
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  let readyMs: number;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${options.name} exited (${child.exitCode}); see ${logFile}`);
    try {
      const response = await fetch(`${url}${waitFor}`);
      await response.arrayBuffer();
      if (response.ok) {
        readyMs = performance.now() - spawnedAt;
        break;
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${options.name} did not answer ${waitFor} within 60 s; see ${logFile}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 100));
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${options.name} has no pid`);
  return {
    url,
    pid,
    logFile,
    readyMs,
    cpuSeconds: () => cpuSecondsOf(pid),
    peakRssMB: () => peakRssMBOf(pid),
    rssMB: () => rssMBOf(pid),
    diskWriteBytes: () => diskWriteBytesOf(pid),
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
