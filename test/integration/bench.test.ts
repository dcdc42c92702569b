/**
 * Keeps `npm run bench` from rotting: the whole benchmark with tiny numbers against the peers
 * of this test run. It checks the shape and sanity of what the bench reports, never a speed
 * (speed targets are judged by the bench itself, on a quiet machine).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { peerEnv } from '../support/peers-env.ts';

interface Results {
  machine: { cores: number; memoryGB: number; loadAverageAtStart: number[] };
  versions: { hapi: string; kafka: string; postgres: string };
  startup: {
    variant: string;
    runs: number;
    medianReadyMs: number;
    maxReadyMs: number;
    medianIdleRssMB: number;
    readyMs: number[];
    idleRssMB: number[];
  }[];
  mapping: { kind: string; validateMicros: number; mapMicros: number; totalMicros: number }[];
  recording: {
    format: string;
    samples: number;
    totalMsPerHour: number;
    parseMsPerHour: number;
    detectMsPerHour: number;
  }[];
  accept: {
    store: string;
    offeredRps: number;
    achievedRps: number;
    accepted: number;
    p50Ms: number;
    p99Ms: number;
    errors: number;
    cpuSecondsPer1000: number;
    peakRssMB: number;
    eventLoopDelay: { p99Ms: number; maxMs: number };
  }[];
  endToEnd: {
    name: string;
    direct: { n: number; failed: number; perSecond: number; seconds: number };
    directAfter: { n: number; failed: number; perSecond: number; seconds: number };
    bridge: { n: number; failed: number; perSecond: number; seconds: number; peakRssMB: number };
    ratio: number;
  }[];
  relay: {
    store: string;
    n: number;
    relayPerSecond: number;
    barePerSecond: number;
    ratio: number;
    rounds: unknown[];
  }[];
  overload: {
    capacity: number;
    n: number;
    direct: { n: number; failed: number; door: { refused: number; mostInFlight: number } };
    directAfter: { n: number; failed: number; door: { refused: number; mostInFlight: number } };
    runs: { adaptive: boolean; bridge: { n: number; failed: number }; door: { forwarded: number }; ratio: number }[];
  }[];
  busy: {
    backlog: number;
    idle: { accepted: number; errors: number; p99Ms: number };
    busy: { accepted: number; errors: number; p99Ms: number };
    progress: Record<'start' | 'end', { deliveryBacklog: number; relayBacklog: number; delivered: number }>;
  }[];
  targets: { target: string; measured: string; against: string; met: unknown }[];
}

describe('npm run bench (smoke, tiny N)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hit-bridge-bench-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs every part against the peers and writes a results file with every figure and target', async () => {
    const out = join(dir, 'results.json');
    const child = spawn(process.execPath, ['bench/run.ts'], {
      env: {
        ...process.env,
        KAFKA_BROKERS: peerEnv('KAFKA_BROKERS'),
        EHR_BASE_URL: peerEnv('EHR_BASE_URL'),
        DATABASE_URL: peerEnv('DATABASE_URL'),
        BENCH_PEERS: 'external',
        BENCH_OUT: out,
        BENCH_ACCEPT_RATES: '20,50',
        BENCH_ACCEPT_SECONDS: '1',
        BENCH_ACCEPT_WARMUP_SECONDS: '1',
        BENCH_ACCEPT_CONNECTIONS: '4',
        BENCH_E2E_N: '4',
        BENCH_E2E_CONCURRENCY: '2',
        BENCH_RELAY_N: '150',
        BENCH_RELAY_ROUNDS: '1',
        // A door as wide as the bridge's concurrency: no refusals, so no retry back-off or open
        // circuit lengthens the smoke run (the door's refusals are pinned by narrow-door.test.ts).
        BENCH_OVERLOAD_N: '3',
        BENCH_OVERLOAD_CAPACITY: '2',
        BENCH_BUSY_BACKLOG: '20',
        BENCH_BUSY_RATE: '20',
        BENCH_MAPPING_ITERATIONS: '50',
        BENCH_RECORDING_ITERATIONS: '2',
        BENCH_STARTUP_RUNS: '2',
        BENCH_STARTUP_SETTLE_MS: '200',
        BENCH_LIMIT_MS: '280000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });

    const results = JSON.parse(readFileSync(out, 'utf8')) as Results;
    expect(results.machine.cores).toBeGreaterThan(0);
    expect(results.machine.memoryGB).toBeGreaterThan(0);
    expect(results.machine.loadAverageAtStart).toHaveLength(3);
    expect(results.versions.hapi).toMatch(/\d+\.\d+/);
    expect(results.versions.kafka).toMatch(/\d+\.\d+/);
    expect(results.versions.postgres).toMatch(/\d+/);

    expect(results.startup.map((figures) => figures.variant)).toEqual(['built JS', 'TypeScript sources']);
    for (const figures of results.startup) {
      expect(figures.readyMs).toHaveLength(2);
      expect(figures.idleRssMB).toHaveLength(2);
      expect(figures.medianReadyMs).toBeGreaterThan(0);
      expect(figures.maxReadyMs).toBeGreaterThanOrEqual(figures.medianReadyMs);
      expect(figures.medianIdleRssMB).toBeGreaterThan(20);
    }
    expect(stdout).toContain('Start-up on the embedded store');

    expect(results.mapping.map((figures) => figures.kind)).toEqual(['hit-sessions', 'fitness-tests', 'prescriptions']);
    for (const figures of results.mapping) {
      expect(figures.totalMicros).toBeGreaterThan(0);
      expect(figures.totalMicros).toBeCloseTo(figures.validateMicros + figures.mapMicros, 0);
    }

    expect(results.recording.map((figures) => figures.format)).toEqual(['fit', 'tcx']);
    for (const figures of results.recording) {
      expect(figures.samples).toBeGreaterThan(3600);
      expect(figures.totalMsPerHour).toBeCloseTo(figures.parseMsPerHour + figures.detectMsPerHour, 0);
    }
    expect(stdout).toContain('Recording import');

    expect(results.accept.map((run) => `${run.store}@${run.offeredRps}`)).toEqual([
      'sqlite@20',
      'sqlite@50',
      'postgres@20',
      'postgres@50',
    ]);
    for (const run of results.accept) {
      expect(run.errors).toBe(0);
      expect(run.accepted).toBeGreaterThan(0);
      expect(run.achievedRps).toBeGreaterThan(0);
      expect(run.p99Ms).toBeGreaterThanOrEqual(run.p50Ms);
      expect(run.cpuSecondsPer1000).toBeGreaterThan(0);
      expect(run.peakRssMB).toBeGreaterThan(20);
      // Read from the service's /metrics: sampled every 10 ms, so never below about that.
      expect(run.eventLoopDelay.p99Ms).toBeGreaterThan(5);
      expect(run.eventLoopDelay.maxMs).toBeGreaterThanOrEqual(run.eventLoopDelay.p99Ms);
    }

    expect(results.endToEnd.map((run) => run.name)).toHaveLength(3);
    for (const run of results.endToEnd) {
      expect({ direct: run.direct.failed, bridge: run.bridge.failed }).toEqual({ direct: 0, bridge: 0 });
      expect(run.bridge.n).toBe(4);
      expect(run.ratio).toBeGreaterThan(0);
      // The bridge against the mean of the direct runs before and after it.
      expect(run.ratio).toBeCloseTo((run.direct.seconds + run.directAfter.seconds) / 2 / run.bridge.seconds, 1);
    }

    expect(results.relay.map((run) => run.store)).toEqual(['postgres', 'sqlite']);
    for (const run of results.relay) {
      expect(run.rounds).toHaveLength(1);
      expect(run.relayPerSecond).toBeGreaterThan(0);
      expect(run.barePerSecond).toBeGreaterThan(0);
    }

    expect(results.overload).toHaveLength(1);
    for (const run of results.overload) {
      expect(run.capacity).toBe(2);
      for (const direct of [run.direct, run.directAfter]) {
        expect({ n: direct.n, failed: direct.failed, refused: direct.door.refused }).toEqual({
          n: 3,
          failed: 0,
          refused: 0,
        });
        expect(direct.door.mostInFlight).toBeLessThanOrEqual(2);
      }
      expect(run.runs.map((bridge) => bridge.adaptive)).toEqual([false, true]);
      for (const bridge of run.runs) {
        expect({ n: bridge.bridge.n, failed: bridge.bridge.failed }).toEqual({ n: 3, failed: 0 });
        // Every Bundle went through the door (the EHR's profile checks may add reads).
        expect(bridge.door.forwarded).toBeGreaterThanOrEqual(3);
        expect(bridge.ratio).toBeGreaterThan(0);
      }
    }
    expect(stdout).toContain('Delivery into an overloaded EHR');

    expect(results.busy).toHaveLength(1);
    for (const run of results.busy) {
      expect(run.backlog).toBe(20);
      for (const figures of [run.idle, run.busy]) {
        expect(figures.errors).toBe(0);
        expect(figures.accepted).toBeGreaterThan(0);
      }
      for (const point of [run.progress.start, run.progress.end]) {
        expect(point.deliveryBacklog).toBeGreaterThanOrEqual(0);
        expect(point.relayBacklog).toBeGreaterThanOrEqual(0);
      }
      expect(run.progress.end.delivered).toBeGreaterThanOrEqual(run.progress.start.delivered);
    }
    expect(stdout).toContain('Accept while busy');

    // Accept p99 and peak RSS on each store, two relays, mapping, three end-to-end setups, start-up, idle RSS, accept while busy.
    expect(results.targets).toHaveLength(13);
    for (const verdict of results.targets) {
      expect(typeof verdict.met === 'boolean' || verdict.met === null).toBe(true);
      expect(verdict.against).not.toBe('');
    }
    expect(stdout).toContain('| store');
    expect(stdout).toContain('Targets:');
  }, 300_000);
});
