/**
 * `npm run bench`: hit-bridge against what it sits between, on this machine, in one run.
 * Starts its own peers (Kafka, HAPI FHIR, PostgreSQL: test/peers/, so nothing else loads them),
 * or with BENCH_PEERS=external uses those named by KAFKA_BROKERS, EHR_BASE_URL and DATABASE_URL.
 * Prints a table and writes every figure to bench/results/<date>.json (BENCH_OUT overrides).
 * Each comparison (bridge vs direct to HAPI, relay vs bare kafkajs) runs back to back in this
 * one run, so a ratio holds under whatever else the machine is doing. Knobs: see KNOBS below.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { createKafka } from '../src/events/kafka-client.ts';
import { createPostgresStore } from '../src/store/postgres-store.ts';
import { createSqliteStore } from '../src/store/sqlite-store.ts';
import { startPeers, stopPeers } from '../test/peers/all.ts';
import { DEFAULT_KAFKA_VERSION } from '../test/peers/kafka.ts';
import type { RunningPeer } from '../test/peers/peer.ts';
import { silentLogger } from '../test/support/silent-logger.ts';
import { prepareEhr } from '../test/support/workload.ts';
import { measureAccept, round } from './lib/accept.ts';
import { measureBusy } from './lib/busy.ts';
import { measureCommitFloor, type FloorFigures } from './lib/commit-floor.ts';
import { bracketedRatio, directToHapi, sessionWorkload, splitConcurrency, throughBridge } from './lib/end-to-end.ts';
import { cpuMeter } from './lib/machine-cpu.ts';
import { measureMappingWithFlags } from './lib/mapping.ts';
import { measureOverload, narrowDoor } from './lib/overload.ts';
import { measureRecording } from './lib/recording.ts';
import { measureRelay } from './lib/relay.ts';
import { PRODUCTION_ENVIRONMENT, PRODUCTION_NODE_FLAGS, startBenchService, type BenchService } from './lib/service.ts';
import { buildJavaScript, measureStartup } from './lib/startup.ts';
import { evaluateTargets, renderTable, type BenchResults } from './lib/report.ts';

const KNOBS = {
  acceptRates: (process.env.BENCH_ACCEPT_RATES ?? '200,1000,5000').split(',').map(Number),
  acceptSeconds: Number(process.env.BENCH_ACCEPT_SECONDS ?? 10),
  acceptWarmupSeconds: Number(process.env.BENCH_ACCEPT_WARMUP_SECONDS ?? 3),
  acceptConnections: Number(process.env.BENCH_ACCEPT_CONNECTIONS ?? 64),
  e2eN: Number(process.env.BENCH_E2E_N ?? 100),
  e2eConcurrency: Number(process.env.BENCH_E2E_CONCURRENCY ?? 8),
  relayN: Number(process.env.BENCH_RELAY_N ?? 5_000),
  relayRounds: Number(process.env.BENCH_RELAY_ROUNDS ?? 5),
  busyBacklog: Number(process.env.BENCH_BUSY_BACKLOG ?? 2_000),
  busyRate: Number(process.env.BENCH_BUSY_RATE ?? 1_000),
  overloadN: Number(process.env.BENCH_OVERLOAD_N ?? 60),
  overloadCapacity: Number(process.env.BENCH_OVERLOAD_CAPACITY ?? 2),
  mappingIterations: Number(process.env.BENCH_MAPPING_ITERATIONS ?? 5_000),
  recordingIterations: Number(process.env.BENCH_RECORDING_ITERATIONS ?? 20),
  startupRuns: Number(process.env.BENCH_STARTUP_RUNS ?? 5),
  startupSettleMs: Number(process.env.BENCH_STARTUP_SETTLE_MS ?? 2_000),
  limitMs: Number(process.env.BENCH_LIMIT_MS ?? 15 * 60_000),
};
const PARTS = ['startup', 'mapping', 'recording', 'accept', 'e2e', 'relay', 'busy', 'overload'] as const;
/** The parts that talk to Kafka, HAPI FHIR or PostgreSQL; without them no peer is started. */
const PEER_PARTS: readonly string[] = ['accept', 'e2e', 'overload', 'relay', 'busy'];
/** BENCH_PARTS=relay,mapping runs only those parts (default: all). */
const parts = new Set((process.env.BENCH_PARTS ?? PARTS.join(',')).split(','));
for (const part of parts) {
  if (!(PARTS as readonly string[]).includes(part))
    throw new Error(`BENCH_PARTS: unknown part "${part}" (${PARTS.join(', ')})`);
}
/** BENCH_E2E_SETUPS=postgres-1,postgres-2 runs only those end-to-end setups (default: all three). */
const E2E_SETUPS = ['sqlite-1', 'postgres-1', 'postgres-2'] as const;
const e2eSetups = new Set((process.env.BENCH_E2E_SETUPS ?? E2E_SETUPS.join(',')).split(','));
for (const setup of e2eSetups) {
  if (!(E2E_SETUPS as readonly string[]).includes(setup))
    throw new Error(`BENCH_E2E_SETUPS: unknown setup "${setup}" (${E2E_SETUPS.join(', ')})`);
}
for (const [name, value] of Object.entries(KNOBS)) {
  const values = Array.isArray(value) ? value : [value];
  if (values.some((number) => !Number.isFinite(number) || number <= 0))
    throw new Error(`bench knob ${name} must be positive`);
}

const startedAt = new Date();
const startLoad = loadavg().map((value) => round(value, 2));
const out = process.env.BENCH_OUT ?? join('bench', 'results', `${startedAt.toISOString().slice(0, 10)}.json`);
const external = process.env.BENCH_PEERS === 'external';
const needsPeers = PEER_PARTS.some((part) => parts.has(part));
const work = mkdtempSync(join(process.cwd(), 'bench', 'tmp-'));
const log = (line: string): void => {
  process.stderr.write(`[bench ${((Date.now() - startedAt.getTime()) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
};

let peers: RunningPeer[] = [];
const services: BenchService[] = [];
const databases: string[] = [];
let adminUrl = '';

const limit = setTimeout(() => {
  log(`over BENCH_LIMIT_MS (${KNOBS.limitMs} ms): writing what was measured, stopping`);
  writeResults();
  void cleanUp().finally(() => process.exit(1));
}, KNOBS.limitMs);

async function cleanUp(): Promise<void> {
  await Promise.allSettled(services.map((service) => service.stop()));
  if (adminUrl !== '' && external) {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    for (const name of databases) await client.query(`drop database if exists ${name} with (force)`);
    await client.end();
  }
  await stopPeers(peers);
  // BENCH_KEEP_WORK=1 keeps the services' logs (and any --cpu-prof or --trace-gc output in them).
  if (process.env.BENCH_KEEP_WORK === '1') log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

/** A fresh database on the PostgreSQL peer for each run of the service, so no run sees another's rows. */
async function freshDatabase(): Promise<string> {
  const name = `bench_${randomBytes(4).toString('hex')}`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  await client.query(`create database ${name}`);
  await client.end();
  databases.push(name);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** The JavaScript the image runs, emitted once per run (tsconfig.emit.json), on first use. */
let builtEntry: string | undefined;
function built(): string {
  builtEntry ??= buildJavaScript(join(work, 'dist'));
  return builtEntry;
}

/**
 * Every part's service runs as deployed: the built JavaScript with the production node flags and
 * environment, as `npm start` and the image run it. (The end-to-end and busy parts had run the
 * TypeScript sources without those flags, so their figures were not those of the service a
 * hospital runs.)
 */
async function service(name: string, env: Record<string, string>, roles?: string): Promise<BenchService> {
  const started = await startBenchService({
    name,
    env: { ...PRODUCTION_ENVIRONMENT, ...env },
    logDir: work,
    ...(roles === undefined ? {} : { roles }),
    entry: built(),
    nodeFlags: PRODUCTION_NODE_FLAGS,
  });
  services.push(started);
  return started;
}

async function stopService(running: BenchService): Promise<void> {
  await running.stop();
  services.splice(services.indexOf(running), 1);
}

/** Filled as the parts finish, so a run stopped by BENCH_LIMIT_MS still writes what it measured. */
const results: Omit<BenchResults, 'versions'> & {
  versions: BenchResults['versions'] | undefined;
  busy: NonNullable<BenchResults['busy']>;
  overload: NonNullable<BenchResults['overload']>;
  complete: boolean;
  startedAt: string;
  finishedAt?: string;
  peers: string;
  knobs: typeof KNOBS;
  parts: string[];
} = {
  startedAt: startedAt.toISOString(),
  complete: false,
  machine: {
    cores: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGB: round(totalmem() / 1e9, 1),
    loadAverageAtStart: startLoad,
    loadAverageAtEnd: [],
    node: process.version,
  },
  versions: undefined,
  peers: !needsPeers
    ? 'none (no part needs them)'
    : external
      ? 'external (shared)'
      : 'started by the bench (dedicated)',
  knobs: KNOBS,
  parts: [...parts],
  startup: [],
  mapping: [],
  recording: [],
  accept: [],
  endToEnd: [],
  relay: [],
  busy: [],
  overload: [],
};

function writeResults(): void {
  results.finishedAt = new Date().toISOString();
  results.machine = { ...results.machine, loadAverageAtEnd: loadavg().map((value) => round(value, 2)) };
  const complete = { ...results, versions: results.versions ?? { hapi: '?', kafka: '?', postgres: '?' } };
  const targets = evaluateTargets(complete);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ ...complete, targets }, null, 2)}\n`);
  process.stdout.write(`${renderTable({ ...complete, targets })}\n`);
  log(`written to ${out}${results.complete ? '' : ' (INCOMPLETE: stopped early)'}`);
}

try {
  log(`knobs ${JSON.stringify(KNOBS)}; parts ${[...parts].join(',')}; load average ${startLoad.join(' ')}`);
  if (parts.has('startup')) {
    // First, while nothing else this run starts is loading the machine.
    log('start-up: building the JavaScript as the image does (tsconfig.emit.json)');
    const entry = built();
    log(`start-up: spawn to /readyz 200 and idle RSS, ${KNOBS.startupRuns} runs each, built JS and TypeScript sources`);
    results.startup = await measureStartup({
      runs: KNOBS.startupRuns,
      workDir: join(work, 'startup'),
      settleMs: KNOBS.startupSettleMs,
      variants: {
        'built JS': { entry, nodeFlags: PRODUCTION_NODE_FLAGS, env: PRODUCTION_ENVIRONMENT },
        'TypeScript sources': { entry: 'src/cli/hit-bridge.ts' },
      },
    });
  }

  let env: Record<string, string> = {};
  if (!needsPeers) {
    results.versions = { hapi: 'not started', kafka: 'not started', postgres: 'not started' };
  } else if (external) {
    env = {
      KAFKA_BROKERS: required('KAFKA_BROKERS'),
      EHR_BASE_URL: required('EHR_BASE_URL'),
      DATABASE_URL: required('DATABASE_URL'),
    };
  } else {
    log('starting the peers (Kafka, HAPI FHIR, PostgreSQL)');
    const runDir = join(process.cwd(), '.peers', 'bench');
    mkdirSync(runDir, { recursive: true });
    // Only the three the parts use: an idle Keycloak and DIPS-configured HAPI are two more JVMs
    // on a two-core machine, and their housekeeping lands inside the measured windows.
    peers = await startPeers({ runDir, durablePostgres: true, peers: ['kafka', 'hapi', 'postgres'] });
    env = Object.assign({}, ...peers.map((peer) => peer.env)) as Record<string, string>;
    for (const peer of peers) log(`peer ${peer.name} ready in ${(peer.readyMs / 1000).toFixed(1)} s`);
  }
  const kafkaBrokers = env.KAFKA_BROKERS ?? '';
  const ehr = env.EHR_BASE_URL ?? '';
  adminUrl = env.DATABASE_URL ?? '';
  const secret = randomBytes(32).toString('hex');
  if (needsPeers) {
    results.versions = {
      ...(await peerVersions(ehr, adminUrl)),
      kafka: external
        ? `${process.env.KAFKA_VERSION ?? DEFAULT_KAFKA_VERSION} (as the peers harness starts it)`
        : kafkaVersionOf(peers),
    };
  }

  if (parts.has('mapping')) {
    log("mapping + validation in a child process with the service's Node flags");
    results.mapping = measureMappingWithFlags(KNOBS.mappingIterations, PRODUCTION_NODE_FLAGS);
  }

  if (parts.has('recording')) {
    log('recording import: parse + detect per hour of 1 Hz recording');
    results.recording = measureRecording(KNOBS.recordingIterations);
  }

  if (parts.has('accept')) {
    for (const store of ['sqlite', 'postgres'] as const) {
      for (const rate of KNOBS.acceptRates) {
        const dataDir = join(work, `accept-${store}-${rate}`);
        const running = await service(
          `accept-${store}-${rate}`,
          store === 'sqlite'
            ? { DATA_DIR: dataDir }
            : { DATA_DIR: dataDir, DATABASE_URL: await freshDatabase(), PATIENT_KEY_SECRET: secret },
        );
        log(`accept path, ${store}, ${rate} req/s for ${KNOBS.acceptSeconds} s`);
        const figures = await measureAccept(running, store, {
          rate,
          seconds: KNOBS.acceptSeconds,
          warmupSeconds: KNOBS.acceptWarmupSeconds,
          connections: KNOBS.acceptConnections,
          source: `bench-accept-${randomBytes(3).toString('hex')}`,
        });
        await stopService(running);
        log(`commit floor, ${store}, ${rate} accepts/s for ${KNOBS.acceptSeconds} s (the Store alone)`);
        figures.floor = await commitFloor(store, rate, join(work, `floor-${store}-${rate}`));
        results.accept.push(figures);
      }
    }
  }

  if (parts.has('relay')) {
    const kafka = createKafka(kafkaBrokers, silentLogger);
    // The peers whose CPU each round records beside the bench's own (bench/lib/machine-cpu.ts).
    const kafkaPort = Number(kafkaBrokers.split(',')[0]?.split(':').at(-1));
    const postgresPort = Number(new URL(adminUrl).port || 5432);
    {
      log(`event relay, PostgreSQL outbox vs bare kafkajs (N=${KNOBS.relayN} × ${KNOBS.relayRounds} rounds)`);
      const databaseUrl = await freshDatabase();
      const pgPool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
      const store = createPostgresStore({ pool: pgPool });
      await store.migrate();
      const peers = { kafkaPort, postgresPort, postgresDatabase: new URL(databaseUrl).pathname.slice(1) };
      results.relay.push(
        await measureRelay(store, 'postgres', kafka, { n: KNOBS.relayN, rounds: KNOBS.relayRounds, peers }),
      );
      await store.close();
      await pgPool.end();
    }
    {
      log(`event relay, SQLite outbox vs bare kafkajs (N=${KNOBS.relayN} × ${KNOBS.relayRounds} rounds)`);
      const store = createSqliteStore({ file: join(work, 'relay', 'hit-bridge.db') });
      await store.migrate();
      const peers = { kafkaPort, postgresPort };
      results.relay.push(
        await measureRelay(store, 'sqlite', kafka, { n: KNOBS.relayN, rounds: KNOBS.relayRounds, peers }),
      );
      await store.close();
    }
  }

  if (parts.has('e2e')) {
    log('end to end: preparing HAPI (profiles, patients, practitioners)');
    await prepareEhr(ehr);
    const variants = [
      { name: 'embedded (SQLite), 1 ehr worker', store: 'sqlite', workers: 1 },
      { name: 'PostgreSQL + Kafka, 1 ehr worker', store: 'postgres', workers: 1 },
      { name: 'PostgreSQL + Kafka, 2 ehr workers', store: 'postgres', workers: 2 },
    ] as const;
    const chosen = variants.filter((variant) => e2eSetups.has(`${variant.store}-${variant.workers}`));
    // Warms HAPI up (JIT, caches, profile snapshots) so the first measured run does not pay for it.
    await directToHapi(
      ehr,
      sessionWorkload(Math.min(KNOBS.e2eN, 20), `bench-warm-${randomBytes(3).toString('hex')}`),
      KNOBS.e2eConcurrency,
    );
    for (const variant of chosen) {
      log(`end to end, ${variant.name}: direct to HAPI, through the bridge, direct again (N=${KNOBS.e2eN})`);
      const databaseUrl = variant.store === 'postgres' ? await freshDatabase() : undefined;
      // Each window's CPU by where it went (bench/lib/machine-cpu.ts): HAPI, the bridge's
      // PostgreSQL backends and the rest of that server, Kafka, the bench, the whole machine.
      const meter = cpuMeter({
        ehrPort: Number(new URL(ehr).port || 80),
        kafkaPort: Number(kafkaBrokers.split(',')[0]?.split(':').at(-1)),
        postgresPort: Number(new URL(adminUrl).port || 5432),
        ...(databaseUrl === undefined ? {} : { postgresDatabase: new URL(databaseUrl).pathname.slice(1) }),
      });
      const direct = await directToHapi(
        ehr,
        sessionWorkload(KNOBS.e2eN, `bench-direct-${randomBytes(3).toString('hex')}`),
        KNOBS.e2eConcurrency,
        meter,
      );
      const base = {
        DATA_DIR: join(work, `e2e-${variant.store}-${variant.workers}`),
        EHR_BASE_URL: ehr,
        ...(databaseUrl !== undefined
          ? { DATABASE_URL: databaseUrl, PATIENT_KEY_SECRET: secret, KAFKA_BROKERS: kafkaBrokers }
          : {}),
      };
      // All the bridge's workers together may have as many Bundles in flight as the direct client
      // has requests: the client's concurrency is split between them, not given to each.
      const [first = 1, ...others] = splitConcurrency(KNOBS.e2eConcurrency, variant.workers);
      // Every process is up (its /healthz answers) before the measured window opens.
      const bridgeServices = [
        await service(`e2e-${variant.store}-${variant.workers}-main`, {
          ...base,
          EHR_DELIVERY_CONCURRENCY: String(first),
        }),
      ];
      for (const [extra, concurrency] of others.entries()) {
        bridgeServices.push(
          await service(
            `e2e-${variant.store}-${variant.workers}-ehr${extra + 1}`,
            { ...base, EHR_DELIVERY_CONCURRENCY: String(concurrency) },
            'ehr',
          ),
        );
      }
      // The bridge warmed up as the direct client was (above): its first sessions load modules,
      // compile its hot paths, open its pools and its producer, create its topics and warm the
      // broker's JIT for them. A bridge in service has done all that long ago; not measured.
      await throughBridge(
        bridgeServices,
        sessionWorkload(Math.min(KNOBS.e2eN, 20), `bench-bridge-warm-${randomBytes(3).toString('hex')}`),
        KNOBS.e2eConcurrency,
        KNOBS.limitMs,
      );
      const bridge = await throughBridge(
        bridgeServices,
        sessionWorkload(KNOBS.e2eN, `bench-bridge-${randomBytes(3).toString('hex')}`),
        KNOBS.e2eConcurrency,
        KNOBS.limitMs,
        meter,
      );
      for (const running of bridgeServices) await stopService(running);
      const directAfter = await directToHapi(
        ehr,
        sessionWorkload(KNOBS.e2eN, `bench-direct-${randomBytes(3).toString('hex')}`),
        KNOBS.e2eConcurrency,
        meter,
      );
      results.endToEnd.push({
        name: variant.name,
        direct,
        directAfter,
        bridge,
        ratio: bracketedRatio(direct, directAfter, bridge),
      });
      log(`  direct ${direct.perSecond}/s, bridge ${bridge.perSecond}/s, direct again ${directAfter.perSecond}/s`);
      for (const [run, figures] of [
        ['direct', direct],
        ['bridge', bridge],
        ['direct again', directAfter],
      ] as const) {
        const { cpu } = figures;
        if (cpu === undefined) continue;
        const ms = (micros: number | undefined) => (micros === undefined ? '?' : (micros / 1000).toFixed(1));
        const per = cpu.microsPerEvent;
        log(
          `  ${run}: CPU ms per session — machine ${ms(per.machine)} (idle ${ms(per.idle)}), HAPI ${ms(per.ehr)}, ` +
            `bridge ${ms(cpu.bridgeMicrosPerSession)}, its PostgreSQL ${ms(per.postgres)} (rest of the server ${ms(per.postgresOther)}), ` +
            // `rest` counts the bridge's processes too (machine-cpu.ts knows nothing of them): the
            // line shows what is left besides them, which a direct run's rest compares with.
            `Kafka ${ms(per.broker)}, bench ${ms(per.benchLoop + per.benchThreads)}, rest ${ms(per.rest - (cpu.bridgeMicrosPerSession ?? 0))}; HAPI ${cpu.percentOfCores.ehr} % of the cores over ${cpu.seconds} s`,
        );
      }
    }
  }
  if (parts.has('busy')) {
    log('accept while busy: preparing HAPI (profiles, patients, practitioners)');
    await prepareEhr(ehr);
    const idle = await service('busy-idle', { DATA_DIR: join(work, 'busy-idle') });
    const busy = await service('busy', { DATA_DIR: join(work, 'busy'), EHR_BASE_URL: ehr });
    log(
      `accept while busy: ${KNOBS.busyRate} req/s idle, then while delivering a backlog of ${KNOBS.busyBacklog} (SQLite, all roles)`,
    );
    results.busy.push(
      await measureBusy(
        { idle, busy },
        {
          backlog: KNOBS.busyBacklog,
          rate: KNOBS.busyRate,
          seconds: KNOBS.acceptSeconds,
          warmupSeconds: KNOBS.acceptWarmupSeconds,
          connections: KNOBS.acceptConnections,
        },
      ),
    );
    await stopService(idle);
    await stopService(busy);
  }
  // Last, after busy: in the first full run with this part just before busy (session 13, quiet1),
  // busy's idle p99 was 19.5 ms and its busy p99 323 ms (7.7–8.3 and 26–34 in the runs before).
  // Not shown to be this part's doing, but HAPI's state after it should not be in busy's window.
  if (parts.has('overload')) {
    log('delivery into an overloaded EHR: preparing HAPI (profiles, patients, practitioners)');
    await prepareEhr(ehr);
    const door = await narrowDoor(ehr, KNOBS.overloadCapacity);
    log(
      `delivery into an overloaded EHR: HAPI behind a door of ${KNOBS.overloadCapacity} at a time, ` +
        `direct at that, then the bridge with ${KNOBS.e2eConcurrency} in flight, fixed and adaptive (N=${KNOBS.overloadN})`,
    );
    try {
      results.overload.push(
        await measureOverload({
          door,
          capacity: KNOBS.overloadCapacity,
          concurrency: KNOBS.e2eConcurrency,
          workload: (label) =>
            sessionWorkload(KNOBS.overloadN, `bench-overload-${label}-${randomBytes(3).toString('hex')}`),
          bridge: (adaptive) =>
            service(`overload-${adaptive ? 'adaptive' : 'fixed'}`, {
              DATA_DIR: join(work, `overload-${adaptive ? 'adaptive' : 'fixed'}`),
              EHR_BASE_URL: door.url,
              EHR_DELIVERY_CONCURRENCY: String(KNOBS.e2eConcurrency),
              EHR_DELIVERY_ADAPTIVE: String(adaptive),
            }),
          stop: stopService,
          timeoutMs: KNOBS.limitMs,
          log,
        }),
      );
    } finally {
      await door.close();
    }
  }
  results.complete = true;
  writeResults();
} finally {
  clearTimeout(limit);
  await cleanUp();
}

/** The store's bare accept at `rate` (bench/lib/commit-floor.ts), on a store of its own like the service's. */
async function commitFloor(store: 'sqlite' | 'postgres', rate: number, dataDir: string): Promise<FloorFigures> {
  const options = { rate, seconds: KNOBS.acceptSeconds, source: `bench-floor-${randomBytes(3).toString('hex')}` };
  if (store === 'sqlite') {
    const sqlite = createSqliteStore({ file: join(dataDir, 'hit-bridge.db') });
    await sqlite.migrate();
    try {
      return await measureCommitFloor(sqlite, options);
    } finally {
      await sqlite.close();
    }
  }
  // The service's pool size (src/store/postgres-pool.ts).
  const pool = new pg.Pool({ connectionString: await freshDatabase(), max: 10 });
  const postgres = createPostgresStore({ pool });
  await postgres.migrate();
  try {
    return await measureCommitFloor(postgres, options);
  } finally {
    await postgres.close();
    await pool.end();
  }
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`BENCH_PEERS=external needs ${name}`);
  return value;
}

async function peerVersions(ehr: string, databaseUrl: string): Promise<{ hapi: string; postgres: string }> {
  const metadata = (await (
    await fetch(`${ehr}/metadata`, { headers: { accept: 'application/fhir+json' } })
  ).json()) as {
    software?: { name?: string; version?: string };
  };
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const setting = async (name: string): Promise<string> =>
    (await client.query<Record<string, string>>(`show ${name}`)).rows[0]?.[name] ?? '?';
  const version = await setting('server_version');
  // The accept figures on PostgreSQL mean "a 202 is on disk" only if the server flushes: say which.
  const durability = `fsync ${await setting('fsync')}, synchronous_commit ${await setting('synchronous_commit')}`;
  await client.end();
  return {
    hapi: `${metadata.software?.name ?? 'HAPI FHIR'} ${metadata.software?.version ?? '?'}`,
    postgres: `${version} (${durability})`,
  };
}

function kafkaVersionOf(running: readonly RunningPeer[]): string {
  return running.find((peer) => peer.name.startsWith('kafka'))?.name.replace(/^kafka\s*/, '') ?? '?';
}
