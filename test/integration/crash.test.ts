/**
 * Crash safety: the service runs as a real child process against the real peers and is
 * SIGKILLed at random points while N submissions are posted, then started again (a new child each
 * time). Clients retry what failed while it was down, with the same body and Idempotency-Key. At
 * the end exactly N submissions exist (counted in the store), every one is delivered, the EHR holds exactly the expected
 * resources by identifier, and every submission has exactly one recorded CloudEvent id, valid against its schema — on
 * PostgreSQL + Kafka and on the embedded defaults (SQLite + the store log).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { freePort } from '../peers/process.ts';
import { peerEnv } from '../support/peers-env.ts';
import { spawnService, type ServiceProcess } from '../support/service-process.ts';
import {
  makeWorkload,
  pool,
  postUntilAccepted,
  prepareEhr,
  randomSource,
  recordedEvents,
  unexpectedEhrCounts,
  waitAllSettled,
} from '../support/workload.ts';

const N = Number(process.env.CRASH_TEST_N ?? 500);
const KILLS = 3;
const ehr = peerEnv('EHR_BASE_URL');
const brokers = peerEnv('KAFKA_BROKERS');
const databaseUrl = peerEnv('DATABASE_URL');

interface Setup {
  readonly name: string;
  /** The service's storage and event settings. */
  env(dataDir: string): Record<string, string | undefined>;
  /** How many submissions the store holds for this source. */
  stored(source: string, dataDir: string): Promise<number>;
  events(dataDir: string): Parameters<typeof recordedEvents>[0];
}

const setups: Setup[] = [
  {
    name: 'PostgreSQL + Kafka',
    env: () => ({
      DATABASE_URL: databaseUrl,
      PATIENT_KEY_SECRET: 'crash-test-secret-0123456789abcdef0123',
      KAFKA_BROKERS: brokers,
      DATA_DIR: undefined,
    }),
    async stored(source) {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        const result = await client.query<{ count: string }>(
          'select count(*) as count from hit_bridge.submissions where source = $1',
          [source],
        );
        return Number(result.rows[0]?.count);
      } finally {
        await client.end();
      }
    },
    events: () => ({ kafka: brokers }),
  },
  {
    name: 'the embedded defaults: SQLite + the store log',
    env: (dataDir) => ({ DATABASE_URL: undefined, KAFKA_BROKERS: undefined, DATA_DIR: dataDir }),
    stored(source, dataDir) {
      const db = new DatabaseSync(join(dataDir, 'hit-bridge.db'), { readOnly: true });
      try {
        const row = db.prepare('select count(*) as count from submissions where source = ?').get(source) as {
          count: number;
        };
        return Promise.resolve(row.count);
      } finally {
        db.close();
      }
    },
    events: (dataDir) => ({ sqliteFile: join(dataDir, 'hit-bridge.db') }),
  },
];

function log(message: string): void {
  process.stderr.write(`crash.test: ${message}\n`);
}

describe.each(setups)('the service on $name, SIGKILLed at random points while submissions arrive', (setup) => {
  const source = randomSource('crash');
  const dataDir = mkdtempSync(join(tmpdir(), 'hit-bridge-crash-'));
  let port = 0;
  let service: ServiceProcess | undefined;

  async function startChild(): Promise<void> {
    service = spawnService(process.execPath, ['src/main.ts'], {
      PORT: String(port),
      HOST: '127.0.0.1',
      ...setup.env(dataDir),
      EHR_BASE_URL: ehr,
      EHR_RETRY_INITIAL_MS: '200',
      EHR_RETRY_MAX_MS: '2000',
      EHR_BREAKER_COOLDOWN_MS: '500',
      EHR_LEASE_MS: '5000',
      RELAY_LEASE_MS: '5000',
      AUTH_MODE: 'off',
      // 500 submissions as fast as one client can send them: the limiter is not what this test is about.
      RATE_LIMIT_PER_SECOND: '100000',
      RATE_LIMIT_BURST: '100000',
      LOG_LEVEL: 'info',
    });
    await service.waitForLine((line) => line.msg === 'listening', 30_000);
  }

  async function kill(): Promise<void> {
    const victim = service;
    if (victim === undefined) return;
    victim.signal('SIGKILL');
    await victim.exited;
  }

  beforeAll(async () => {
    port = await freePort();
    await prepareEhr(ehr);
  });

  afterAll(async () => {
    await kill();
  });

  it(`accepts, delivers and publishes exactly ${N} submissions across ${KILLS + 1} SIGKILLs`, async () => {
    const started = Date.now();
    const items = makeWorkload(N, source);
    await startChild();
    const baseUrl = `http://127.0.0.1:${port}`;

    // Kill points: after random numbers of accepted submissions, spread over the run.
    const killAt = Array.from({ length: KILLS }, (_, k) =>
      Math.floor(((k + 0.3 + Math.random() * 0.5) / (KILLS + 0.5)) * N),
    );
    let accepted = 0;
    let killing: Promise<void> = Promise.resolve();
    const kills: string[] = [];
    const outcomes = await pool(items, 8, async (item) => {
      const outcome = await postUntilAccepted(() => baseUrl, item);
      accepted += 1;
      if (killAt.includes(accepted)) {
        kills.push(`after ${accepted} accepted at ${((Date.now() - started) / 1000).toFixed(1)} s`);
        killing = killing.then(async () => {
          await kill();
          await startChild();
        });
      }
      return outcome;
    });
    await killing;
    // One more at a random moment while the outbox is still draining: delivery and relay resume too.
    await new Promise((resolve) => setTimeout(resolve, 5_000 + Math.random() * 25_000));
    kills.push(`while delivering at ${((Date.now() - started) / 1000).toFixed(1)} s`);
    await kill();
    await startChild();
    log(`kills: ${kills.join('; ')}; posting retries: ${outcomes.reduce((sum, o) => sum + o.retries, 0)}`);

    const ids = outcomes.map((outcome) => outcome.id);
    expect(new Set(ids).size).toBe(N);
    expect(await setup.stored(source, dataDir)).toBe(N);

    const statuses = await waitAllSettled(baseUrl, ids, 150_000);
    const notDelivered = [...statuses].filter(([, status]) => status !== 'delivered');
    expect(notDelivered).toEqual([]);
    log(`all ${N} delivered at ${((Date.now() - started) / 1000).toFixed(1)} s`);

    expect(await unexpectedEhrCounts(ehr, items)).toEqual([]);

    const { eventIds, messages, invalid } = await recordedEvents(setup.events(dataDir), new Set(ids), 60_000);
    expect(ids.filter((id) => eventIds.get(id)?.size !== 1)).toEqual([]);
    expect(invalid).toEqual([]);
    log(
      `events: ${eventIds.size} submissions, ${messages} messages; done at ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    expect(kills.length).toBeGreaterThanOrEqual(KILLS + 1);
  }, 360_000);
});
