/**
 * The same three peers as containers, for machines where a Docker engine answers.
 * Not exercised on the project's own machines (they have no Docker engine); the local-process
 * peers in kafka.ts, hapi.ts and postgres.ts are what CI runs. Images are pinned to the same
 * versions those use.
 */
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import type { PeerName } from './all.ts';
import type { RunningPeer } from './peer.ts';

const KAFKA_IMAGE = `apache/kafka:${process.env.KAFKA_VERSION ?? '4.4.0'}`;
const HAPI_IMAGE = 'hapiproject/hapi:v8.8.0-1';
const POSTGRES_IMAGE = 'postgres:15';

/**
 * Keycloak is not among them: it always runs from its distribution (test/peers/keycloak.ts); nor
 * is the DIPS-configured HAPI, which needs our launcher (test/peers/hapi-dips.ts).
 */
type ContainerPeer = Exclude<PeerName, 'keycloak' | 'hapi-dips'>;

export async function startContainers(names: readonly PeerName[]): Promise<RunningPeer[]> {
  return Promise.all(
    names
      .filter((name): name is ContainerPeer => name !== 'keycloak' && name !== 'hapi-dips')
      .map((name) => starters[name]()),
  );
}

const starters: Record<ContainerPeer, () => Promise<RunningPeer>> = {
  async kafka() {
    // The broker must advertise the port the host sees, which is only known after start:
    // a fixed host port keeps the advertised listener honest without a second listener.
    const hostPort = 19092;
    const started = Date.now();
    const container = await new GenericContainer(KAFKA_IMAGE)
      .withExposedPorts({ container: 9092, host: hostPort })
      .withEnvironment({
        KAFKA_NODE_ID: '1',
        KAFKA_PROCESS_ROLES: 'broker,controller',
        KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
        KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${hostPort}`,
        KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
        KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      })
      .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
      .start();
    return asPeer('kafka', container, `127.0.0.1:${hostPort}`, { KAFKA_BROKERS: `127.0.0.1:${hostPort}` }, started);
  },
  async hapi() {
    const started = Date.now();
    const container = await new GenericContainer(HAPI_IMAGE)
      .withExposedPorts(8080)
      .withEnvironment({
        'hapi.fhir.reuse_cached_search_results_millis': '-1',
        'spring.datasource.url': 'jdbc:h2:mem:hapi',
      })
      .withWaitStrategy(Wait.forHttp('/fhir/metadata', 8080).forStatusCode(200))
      .withStartupTimeout(300_000)
      .start();
    const base = `http://${container.getHost()}:${container.getMappedPort(8080)}/fhir`;
    return asPeer('hapi', container, base, { EHR_BASE_URL: base }, started);
  },
  async postgres() {
    const started = Date.now();
    const container = await new GenericContainer(POSTGRES_IMAGE)
      .withExposedPorts(5432)
      .withEnvironment({ POSTGRES_USER: 'hitbridge', POSTGRES_PASSWORD: 'hitbridge', POSTGRES_DB: 'postgres' })
      .withWaitStrategy(Wait.forLogMessage(/ready to accept connections/, 2))
      .start();
    const url = `postgres://hitbridge:hitbridge@${container.getHost()}:${container.getMappedPort(5432)}/postgres`;
    return asPeer('postgres', container, url, { DATABASE_URL: url }, started);
  },
};

function asPeer(
  name: string,
  container: StartedTestContainer,
  url: string,
  env: Record<string, string>,
  started: number,
): RunningPeer {
  return {
    name,
    url,
    env,
    logFile: `docker logs ${container.getId()}`,
    pid: 0,
    readyMs: Date.now() - started,
    stop: async () => {
      await container.stop();
    },
  };
}
