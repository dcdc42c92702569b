/**
 * A real Apache Kafka broker for the tests: one KRaft node that is both broker and controller,
 * run with the machine's Java from jars that Maven resolves from Maven Central (no Docker needed).
 *
 * The jars are resolved once per Kafka version into `<cacheDir>/kafka-<version>/lib`; later runs
 * find that cache complete and start the JVM straight away, without invoking Maven.
 * Every run formats a fresh log directory under `workDir`, binds and advertises 127.0.0.1 only
 * (pause/resume stops and restarts the broker on the same ports and log directory), and is ready when a kafkajs admin client can describe the cluster.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { PeerOptions, RunningPeer } from './peer.ts';
import { freePort, spawnLogged, stopProcess, waitUntilReady, type SpawnedProcess } from './process.ts';

/**
 * Newest Apache Kafka that passes produce/consume with a consumer group, the idempotent producer
 * and transactions with kafkajs 2.2.4 (evidence: docs/adr/0001-kafka-broker-version.md).
 */
export const DEFAULT_KAFKA_VERSION = '4.4.0';

export interface KafkaOptions extends PeerOptions {
  /** Controller (KRaft quorum) port; 0 or undefined picks a free one. */
  readonly controllerPort?: number;
  /** Kafka version; defaults to env KAFKA_VERSION, then DEFAULT_KAFKA_VERSION. */
  readonly version?: string;
}

const peerDir = join(import.meta.dirname, 'kafka');
const pomFile = join(peerDir, 'pom.xml');
const log4jConfig = join(peerDir, 'log4j2.xml');

export async function startKafka(options: KafkaOptions): Promise<RunningPeer> {
  const version = options.version ?? (process.env.KAFKA_VERSION || DEFAULT_KAFKA_VERSION);
  const logFile = join(options.workDir, 'kafka.log');
  mkdirSync(options.workDir, { recursive: true });

  const lib = await resolveClasspath(version, options.cacheDir, options.workDir);

  const port = options.port || (await freePort());
  let controllerPort = options.controllerPort || (await freePort());
  while (controllerPort === port) controllerPort = await freePort();

  // A fresh, empty log directory on every run: formatting refuses an already formatted one.
  const logDirs = join(options.workDir, 'data');
  rmSync(logDirs, { recursive: true, force: true });
  mkdirSync(logDirs, { recursive: true });
  const configFile = join(options.workDir, 'server.properties');
  writeFileSync(configFile, serverProperties({ port, controllerPort, logDirs }));

  const java = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
  const commonJvmArgs = [
    '-cp',
    join(lib, '*'),
    `-Dlog4j2.configurationFile=${log4jConfig}`,
    `-Dkafka.logs.dir=${options.workDir}`,
    '-Djava.awt.headless=true',
  ];

  // Cluster id: Kafka's Uuid is 16 bytes written as unpadded base64url (22 characters). One that
  // starts with "-" (1 in 64) is read by the storage tool as an option, and the format fails.
  let clusterId = randomBytes(16).toString('base64url');
  while (clusterId.startsWith('-')) clusterId = randomBytes(16).toString('base64url');
  const format = spawnLogged(
    java,
    [...commonJvmArgs, '-Xmx256m', 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', configFile],
    { logFile },
  );
  const formatExit = await format.exited;
  if (formatExit !== 0) {
    throw new Error(`kafka storage format exited with ${String(formatExit)}; see ${logFile}`);
  }

  const launch = (): SpawnedProcess =>
    spawnLogged(
      java,
      [
        ...commonJvmArgs,
        '-Xms128m',
        '-Xmx512m',
        '-XX:+UseG1GC',
        '-XX:MaxGCPauseMillis=20',
        '-XX:+ExitOnOutOfMemoryError',
        'kafka.Kafka',
        configFile,
      ],
      { logFile },
    );
  const brokers = `127.0.0.1:${port}`;
  const ready = (proc: SpawnedProcess): Promise<number> =>
    waitUntilReady('kafka', () => brokerAnswers(brokers), {
      timeoutMs: options.readyTimeoutMs ?? 120_000,
      intervalMs: 500,
      proc,
      logFile,
    });

  const started = Date.now();
  let proc = launch();
  await ready(proc);
  const readyMs = Date.now() - started;

  return {
    name: `kafka ${version}`,
    url: brokers,
    env: { KAFKA_BROKERS: brokers },
    logFile,
    pid: proc.child.pid ?? 0,
    readyMs,
    stop: () => stopProcess(proc),
    pause: () => stopProcess(proc),
    // Same server.properties: the same ports and the same, already formatted, log.dirs.
    resume: async () => {
      proc = launch();
      await ready(proc);
    },
  };
}

/** Kafka's server.properties for one combined broker+controller on loopback (no inline comments). */
function serverProperties(p: { port: number; controllerPort: number; logDirs: string }): string {
  const entries: [string, string | number][] = [
    ['process.roles', 'broker,controller'],
    ['node.id', 1],
    // A static one-voter quorum: `format` then needs no --standalone (works on 3.9 and 4.x alike).
    ['controller.quorum.voters', `1@127.0.0.1:${p.controllerPort}`],
    ['listeners', `PLAINTEXT://127.0.0.1:${p.port},CONTROLLER://127.0.0.1:${p.controllerPort}`],
    ['advertised.listeners', `PLAINTEXT://127.0.0.1:${p.port},CONTROLLER://127.0.0.1:${p.controllerPort}`],
    ['inter.broker.listener.name', 'PLAINTEXT'],
    ['controller.listener.names', 'CONTROLLER'],
    ['listener.security.protocol.map', 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT'],
    ['log.dirs', p.logDirs],
    ['num.partitions', 1],
    ['offsets.topic.replication.factor', 1],
    ['offsets.topic.num.partitions', 1],
    ['transaction.state.log.replication.factor', 1],
    ['transaction.state.log.min.isr', 1],
    ['transaction.state.log.num.partitions', 1],
    ['share.coordinator.state.topic.replication.factor', 1],
    ['share.coordinator.state.topic.min.isr', 1],
    ['group.initial.rebalance.delay.ms', 0],
  ];
  const comment = '# Written by test/peers/kafka.ts for one test run.\n';
  return comment + entries.map(([key, value]) => `${key}=${String(value)}\n`).join('');
}

/**
 * The broker's jars for `version`, from the cache when it is complete for this pom, else resolved
 * with Maven into a temporary directory that then replaces the cached one.
 */
async function resolveClasspath(version: string, cacheDir: string, workDir: string): Promise<string> {
  if (!/^[0-9A-Za-z.+-]+$/.test(version)) throw new Error(`unusable Kafka version: ${version}`);
  const versionDir = join(cacheDir, `kafka-${version}`);
  const lib = join(versionDir, 'lib');
  const marker = join(versionDir, 'lib.complete');
  // The marker holds a hash of the pom, so a changed pom (e.g. another logging jar) re-resolves.
  const pomHash = createHash('sha256').update(readFileSync(pomFile)).digest('hex');
  if (existsSync(marker) && readFileSync(marker, 'utf8').trim() === pomHash && existsSync(lib)) return lib;

  mkdirSync(versionDir, { recursive: true });
  const staging = join(versionDir, `lib.partial-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  const mavenLog = join(workDir, 'maven.log');
  const mvn = spawnLogged(
    'mvn',
    [
      '-B',
      '-ntp',
      '-f',
      pomFile,
      'dependency:copy-dependencies',
      `-Dkafka.version=${version}`,
      `-DoutputDirectory=${staging}`,
    ],
    { logFile: mavenLog },
  );
  const exit = await mvn.exited;
  if (exit !== 0 || !existsSync(staging) || !readdirSync(staging).some((name) => name.startsWith('kafka_2.13-'))) {
    rmSync(staging, { recursive: true, force: true });
    throw new Error(
      `Maven could not resolve org.apache.kafka:kafka_2.13:${version} (exit ${String(exit)}); see ${mavenLog}`,
    );
  }
  rmSync(lib, { recursive: true, force: true });
  renameSync(staging, lib);
  writeFileSync(marker, `${pomHash}\n`);
  return lib;
}

/** One readiness probe: a fresh admin client connects and sees this broker in the cluster. */
async function brokerAnswers(brokers: string): Promise<boolean> {
  const kafka = new Kafka({
    clientId: 'hit-bridge-peer-probe',
    brokers: [brokers],
    connectionTimeout: 1_000,
    requestTimeout: 2_000,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    await admin.listTopics();
    return cluster.brokers.length > 0 && cluster.controller !== null;
  } finally {
    await admin.disconnect();
  }
}
