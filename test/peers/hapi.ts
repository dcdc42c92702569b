/**
 * A real HAPI FHIR R4 JPA server (the EHR) for the tests: our own small Spring Boot launcher in
 * test/peers/hapi/ (HAPI 8.8.0, Spring Boot 3.5, in-memory H2), run with the machine's Java 17.
 *
 * Maven compiles the launcher and copies its runtime jars once into
 * `<cacheDir>/hapi-<hash of pom.xml and sources>/{classes,lib}`; later runs find that directory
 * and start the JVM straight away, without Maven. Every run starts with an empty database (in
 * memory, or with `persistent` in an H2 file under workDir that survives pause/resume), binds
 * 127.0.0.1 only and is ready when GET <base>/metadata answers 200.
 * See docs/adr/0002-hapi-fhir-test-server.md.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { EHR_AUDIENCE } from './keycloak-realm.ts';
import type { PeerOptions, RunningPeer } from './peer.ts';
import { freePort, spawnLogged, stopProcess, waitUntilReady, type SpawnedProcess } from './process.ts';

export interface HapiOptions extends PeerOptions {
  /**
   * Reject creates/updates (also inside transactions) of resources that declare a stored profile
   * in meta.profile and do not conform to it (HTTP 422). Default true; `$validate` works either way.
   */
  readonly enforceProfiles?: boolean;
  /**
   * Keep the database in an H2 file under workDir instead of in memory, so the peer can be paused
   * and resumed (an EHR outage) with its data. Default false: in memory is faster.
   */
  readonly persistent?: boolean;
  /**
   * With an issuer (e.g. Keycloak's realm URL), the same server is also served at
   * <origin>/secured/fhir, which answers only requests with a valid bearer token from that
   * issuer for the audience `test-ehr` (keys from its JWKS). /fhir stays open either way.
   */
  readonly authIssuer?: string;
  /**
   * A profile (canonical URL) every resource of a type must conform to on write, declared or not,
   * once its StructureDefinition is stored: how a vendor's server holds records to its own
   * profiles (the DIPS-configured peer, hapi-dips).
   */
  readonly requiredProfiles?: Readonly<Record<string, string>>;
  /** Validator message ids that fault a profile, not the resource, passed over on write (see DeclaredProfileEnforcer). */
  readonly profileDefectsIgnored?: readonly string[];
}

const launcherDir = join(import.meta.dirname, 'hapi');
const pomFile = join(launcherDir, 'pom.xml');
const mainClass = 'no.hitbridge.hapipeer.HapiPeerApplication';

export async function startHapi(options: HapiOptions): Promise<RunningPeer> {
  const logFile = join(options.workDir, 'hapi.log');
  mkdirSync(options.workDir, { recursive: true });

  const build = await buildLauncher(options.cacheDir, logFile);

  const port = options.port || (await freePort());
  const base = `http://127.0.0.1:${port}/fhir`;
  // Tomcat's scratch directories go to the work dir, not to /tmp.
  const tmpDir = join(options.workDir, 'tmp');
  mkdirSync(tmpDir, { recursive: true });
  const java = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
  // Shown in /metadata: readiness is this process answering, not whatever else holds the port.
  const instanceId = randomUUID();

  const h2Dir = resolve(options.workDir, 'h2');
  if (options.persistent) {
    // A fresh database for a fresh peer; resume() reuses it.
    rmSync(h2Dir, { recursive: true, force: true });
    mkdirSync(h2Dir, { recursive: true });
  }
  const launch = (): SpawnedProcess =>
    spawnLogged(
      java,
      [
        '-Xms256m',
        '-Xmx1g',
        '-XX:+ExitOnOutOfMemoryError',
        '-Djava.awt.headless=true',
        `-Djava.io.tmpdir=${tmpDir}`,
        `-Dhapi.enforceProfiles=${String(options.enforceProfiles ?? true)}`,
        `-Dhapi.instanceId=${instanceId}`,
        ...(options.profileDefectsIgnored === undefined
          ? []
          : [`-Dhapi.profileDefectsIgnored=${options.profileDefectsIgnored.join(',')}`]),
        ...(options.requiredProfiles === undefined
          ? []
          : [
              `-Dhapi.requiredProfiles=${Object.entries(options.requiredProfiles)
                .map(([type, url]) => `${type}=${url}`)
                .join(',')}`,
            ]),
        ...(options.persistent ? [`-Dhapi.h2File=${join(h2Dir, 'hapi')}`] : []),
        ...(options.authIssuer === undefined
          ? []
          : [`-Dhapi.auth.issuer=${options.authIssuer}`, `-Dhapi.auth.audience=${EHR_AUDIENCE}`]),
        '-cp',
        `${join(build, 'classes')}:${join(build, 'lib', '*')}`,
        mainClass,
        String(port),
      ],
      { logFile, cwd: options.workDir },
    );
  const ready = (proc: SpawnedProcess): Promise<number> =>
    waitUntilReady('hapi', () => metadataAnswers(base, instanceId), {
      timeoutMs: options.readyTimeoutMs ?? 300_000,
      intervalMs: 1_000,
      proc,
      logFile,
    });

  const started = Date.now();
  let proc = launch();
  await ready(proc);
  const readyMs = Date.now() - started;
  if (proc.child.pid === undefined) throw new Error(`hapi has no process id; see ${logFile}`);

  return {
    name: 'hapi',
    url: base,
    env: {
      EHR_BASE_URL: base,
      ...(options.authIssuer === undefined ? {} : { HAPI_SECURED_BASE_URL: `http://127.0.0.1:${port}/secured/fhir` }),
    },
    logFile,
    pid: proc.child.pid,
    readyMs,
    stop: () => stopProcess(proc),
    ...(options.persistent
      ? {
          pause: () => stopProcess(proc),
          resume: async () => {
            proc = launch();
            await ready(proc);
          },
        }
      : {}),
  };
}

/** Builds under way in this process, by build directory. */
const buildsUnderWay = new Map<string, Promise<string>>();

/**
 * The compiled launcher and its jars, from the cache when present for this exact pom and these
 * sources, else built with Maven into a staging directory that is then renamed into place
 * (so a half-finished build is never taken for a finished one).
 *
 * The EHR and the DIPS-configured EHR start at once from one process: on a cold cache they must
 * share one build. Two Mavens copying into the same staging directory (named by this process's
 * id) and filling the same local repository at once failed both on a fresh machine.
 */
export function buildLauncher(cacheDir: string, logFile: string): Promise<string> {
  const buildDir = join(cacheDir, `hapi-${launcherHash()}`);
  let build = buildsUnderWay.get(buildDir);
  if (build === undefined) {
    build = buildLauncherInto(buildDir, cacheDir, logFile).finally(() => buildsUnderWay.delete(buildDir));
    buildsUnderWay.set(buildDir, build);
  }
  return build;
}

async function buildLauncherInto(buildDir: string, cacheDir: string, logFile: string): Promise<string> {
  if (existsSync(join(buildDir, 'classes')) && existsSync(join(buildDir, 'lib'))) return buildDir;

  mkdirSync(cacheDir, { recursive: true });
  const staging = `${buildDir}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  const mvn = spawnLogged(
    'mvn',
    [
      '-B',
      '-ntp',
      '-f',
      pomFile,
      `-Dhapi.peer.buildDir=${staging}`,
      'compile',
      'dependency:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${join(staging, 'lib')}`,
    ],
    { logFile },
  );
  const exit = await mvn.exited;
  if (exit !== 0 || !existsSync(join(staging, 'classes')) || !existsSync(join(staging, 'lib'))) {
    rmSync(staging, { recursive: true, force: true });
    throw new Error(`Maven could not build the HAPI FHIR launcher (exit ${String(exit)}); see ${logFile}`);
  }
  try {
    renameSync(staging, buildDir);
  } catch (error) {
    // Another run finished the same build first; theirs is as good as ours.
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(join(buildDir, 'classes'))) throw error;
  }
  return buildDir;
}

/** Hash of everything Maven builds from: the pom and every file under src/. */
function launcherHash(): string {
  const hash = createHash('sha256');
  hash.update(readFileSync(pomFile));
  const sourceRoot = join(launcherDir, 'src');
  const files = readdirSync(sourceRoot, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
  for (const file of files) {
    hash.update(`\0${relative(launcherDir, file)}\0`);
    hash.update(readFileSync(file));
  }
  return hash.digest('hex').slice(0, 16);
}

/** One readiness probe: our process serves its capability statement. */
async function metadataAnswers(base: string, instanceId: string): Promise<boolean> {
  const response = await fetch(`${base}/metadata`, {
    headers: { accept: 'application/fhir+json' },
    signal: AbortSignal.timeout(10_000),
  });
  const body = await response.text();
  if (response.status === 200 && !body.includes(instanceId)) {
    throw new Error(`another server answers on ${base}`);
  }
  return response.status === 200;
}
