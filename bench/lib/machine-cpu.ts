/**
 * Where a window's CPU went on this machine: the bench process's own thread (the loop the relay or
 * the bare producer runs on) and its other threads, the Kafka broker's JVM, PostgreSQL's backends
 * serving the bench's database (and the rest of that server), and the whole machine from
 * /proc/stat, so a round can say how much of the cores was left while it ran.
 *
 * Threads are read from /proc/<pid>/task/<tid>/schedstat (nanoseconds on the CPU, exact); the
 * machine from /proc/stat (USER_HZ ticks, 10 ms: over a 0.2 s round that is ±5 % of a core, so
 * sums over rounds are the figures to read). A thread or backend that exits inside the window
 * takes its time with it: short-lived ones are missed, the ones that matter here live throughout.
 * Linux only; elsewhere every figure reads 0.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** /proc/stat's unit, fixed for user space on Linux whatever the kernel's own tick. */
const USER_HZ = 100;

/** The peer processes to watch, found by the ports they listen on. */
export interface WatchedPeers {
  readonly kafkaPort?: number;
  /** The EHR (HAPI's JVM), which the end-to-end part compares the bridge against. */
  readonly ehrPort?: number;
  readonly postgresPort?: number;
  /** The database whose backends count as the bench's own (the relay's outbox); the rest are "other". */
  readonly postgresDatabase?: string;
}

/** CPU over a window, µs, by where it ran. */
interface CpuMicros {
  /** The bench process's main thread: where the relay (store calls included on SQLite) or the bare producer runs. */
  readonly benchLoop: number;
  /** The bench process's other threads (V8's GC helpers, libuv's pool, SQLite's write thread). */
  readonly benchThreads: number;
  readonly broker: number;
  /** The EHR's JVM (HAPI), when its port was given. */
  readonly ehr: number;
  /** PostgreSQL backends connected to the bench's database. */
  readonly postgres: number;
  /** The rest of that PostgreSQL server (other databases, its background processes). */
  readonly postgresOther: number;
  /** Everything the machine ran, from /proc/stat (user, nice, system, irq, softirq). */
  readonly machine: number;
  /** What the machine ran besides the above: other sessions, other peers, the kernel's own threads. */
  readonly rest: number;
  /** Idle and waiting for I/O, from /proc/stat. */
  readonly idle: number;
  /** Taken by the hypervisor, from /proc/stat. */
  readonly steal: number;
}

export interface CpuWindow {
  readonly seconds: number;
  readonly cores: number;
  readonly micros: CpuMicros;
}

interface Snapshot {
  readonly at: number;
  readonly benchLoop: number;
  readonly benchThreads: number;
  readonly broker: number;
  readonly ehr: number;
  readonly postgres: ReadonlyMap<number, { readonly ours: boolean; readonly nanos: number }>;
  readonly machine: { readonly busy: number; readonly idle: number; readonly steal: number };
}

function readOr(path: string, fallback = ''): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

function listOr(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

/** Nanoseconds a thread has spent on a CPU (first field of its schedstat). */
function threadNanos(pid: number, tid: string): number {
  return Number(readOr(`/proc/${pid}/task/${tid}/schedstat`, '0').split(' ')[0] ?? 0);
}

/** Nanoseconds on a CPU over the threads of a process, alive now. */
function processNanos(pid: number | undefined): number {
  if (pid === undefined) return 0;
  return listOr(`/proc/${pid}/task`).reduce((sum, tid) => sum + threadNanos(pid, tid), 0);
}

/** The process listening on a TCP port, by the socket's inode in /proc/net/tcp{,6} and the owners' fds. */
function listeningPid(port: number | undefined): number | undefined {
  if (port === undefined) return undefined;
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readOr(table).split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address is ADDR:PORT; state 0A is LISTEN; the inode is the tenth field.
      if (fields[1]?.endsWith(`:${hexPort}`) === true && fields[3] === '0A' && fields[9] !== undefined)
        inodes.add(`socket:[${fields[9]}]`);
    }
  }
  if (inodes.size === 0) return undefined;
  for (const entry of listOr('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    for (const fd of listOr(`/proc/${entry}/fd`)) {
      try {
        if (inodes.has(readlinkSync(`/proc/${entry}/fd/${fd}`))) return Number(entry);
      } catch {
        // The fd closed while we looked.
      }
    }
  }
  return undefined;
}

/** The postmaster's children (backends and background processes), each marked as serving `database` or not. */
function postgresChildren(postmaster: number | undefined, database: string | undefined) {
  const children = new Map<number, { ours: boolean; nanos: number }>();
  if (postmaster === undefined) return children;
  children.set(postmaster, { ours: false, nanos: processNanos(postmaster) });
  for (const entry of listOr('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readOr(`/proc/${entry}/stat`);
    // The parent pid is the second field after the command's closing parenthesis.
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (parent !== postmaster) continue;
    // A backend's title: "postgres: user database host(port) state".
    const title = readOr(`/proc/${entry}/cmdline`).replaceAll('\0', ' ');
    const ours = database !== undefined && title.split(' ')[2] === database;
    children.set(Number(entry), { ours, nanos: processNanos(Number(entry)) });
  }
  return children;
}

function machineTicks() {
  const fields = (readOr('/proc/stat').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
  return { busy: user + nice + system + irq + softirq, idle: idle + iowait, steal };
}

export interface CpuMeter {
  /** Starts a window; the function it returns ends it. */
  start(): () => CpuWindow;
}

export function cpuMeter(peers: WatchedPeers): CpuMeter {
  // Found once: the peers do not move during a part.
  const pids = {
    broker: listeningPid(peers.kafkaPort),
    ehr: listeningPid(peers.ehrPort),
    postmaster: listeningPid(peers.postgresPort),
  };
  const own = () => {
    const self = process.pid;
    let benchThreads = 0;
    for (const tid of listOr(`/proc/${self}/task`)) if (Number(tid) !== self) benchThreads += threadNanos(self, tid);
    return { at: performance.now(), benchLoop: threadNanos(self, String(self)), benchThreads };
  };
  const others = () => ({
    broker: processNanos(pids.broker),
    ehr: processNanos(pids.ehr),
    postgres: postgresChildren(pids.postmaster, peers.postgresDatabase),
    machine: machineTicks(),
  });
  return {
    start() {
      // The bench's own threads read last at the start and first at the end: reading the peers'
      // hundreds of files costs this thread milliseconds, which must not count as the round's.
      const peersBefore = others();
      const before: Snapshot = { ...own(), ...peersBefore };
      return () => {
        const ownAfter = own();
        const after: Snapshot = { ...ownAfter, ...others() };
        const micros = (nanos: number) => Math.max(0, nanos) / 1000;
        const ticks = (count: number) => (count * 1_000_000) / USER_HZ;
        let postgres = 0;
        let postgresOther = 0;
        for (const [pid, { ours, nanos }] of after.postgres) {
          const used = nanos - (before.postgres.get(pid)?.nanos ?? 0);
          if (ours) postgres += used;
          else postgresOther += used;
        }
        const figures = {
          benchLoop: micros(after.benchLoop - before.benchLoop),
          benchThreads: micros(after.benchThreads - before.benchThreads),
          broker: micros(after.broker - before.broker),
          ehr: micros(after.ehr - before.ehr),
          postgres: micros(postgres),
          postgresOther: micros(postgresOther),
          machine: ticks(after.machine.busy - before.machine.busy),
          idle: ticks(after.machine.idle - before.machine.idle),
          steal: ticks(after.machine.steal - before.machine.steal),
        };
        const known =
          figures.benchLoop +
          figures.benchThreads +
          figures.broker +
          figures.ehr +
          figures.postgres +
          figures.postgresOther;
        return {
          seconds: toNanosecond((after.at - before.at) / 1000, 1e9),
          cores: availableParallelism(),
          micros: { ...figures, rest: toNanosecond(Math.max(0, figures.machine - known)) },
        };
      };
    },
  };
}

/**
 * A figure in µs (or in seconds, with 1e9 nanoseconds to the unit) kept to the nanosecond,
 * schedstat's own resolution: a difference or sum of floats otherwise carries a binary tail into
 * the results file (…000999…), whose digit runs the synthetic-data check reads as national ids.
 */
function toNanosecond(value: number, nanosPerUnit = 1000): number {
  return Math.round(value * nanosPerUnit) / nanosPerUnit;
}

/** Windows added up (rounds of one side), so the machine's 10 ms ticks weigh less. */
export function sumOfWindows(windows: readonly CpuWindow[]): CpuWindow {
  const keys = [
    'benchLoop',
    'benchThreads',
    'broker',
    'ehr',
    'postgres',
    'postgresOther',
    'machine',
    'rest',
    'idle',
    'steal',
  ] as const;
  const micros = Object.fromEntries(
    keys.map((key) => [key, toNanosecond(windows.reduce((sum, window) => sum + window.micros[key], 0))]),
  ) as Record<(typeof keys)[number], number>;
  return {
    seconds: toNanosecond(
      windows.reduce((sum, window) => sum + window.seconds, 0),
      1e9,
    ),
    cores: windows[0]?.cores ?? availableParallelism(),
    micros,
  };
}

/** A window's CPU per event (µs) and as a share of all the machine's cores over its wall time (%). */
export function cpuShares(window: CpuWindow, events: number) {
  const wallMicros = window.seconds * 1_000_000 * window.cores;
  const entries = Object.entries(window.micros) as [keyof CpuMicros, number][];
  return {
    seconds: Math.round(window.seconds * 1000) / 1000,
    cores: window.cores,
    microsPerEvent: Object.fromEntries(entries.map(([key, value]) => [key, Math.round((value / events) * 10) / 10])),
    percentOfCores: Object.fromEntries(
      entries.map(([key, value]) => [key, wallMicros > 0 ? Math.round((value / wallMicros) * 1000) / 10 : 0]),
    ),
  } as {
    readonly seconds: number;
    readonly cores: number;
    readonly microsPerEvent: Readonly<Record<keyof CpuMicros, number>>;
    readonly percentOfCores: Readonly<Record<keyof CpuMicros, number>>;
  };
}
