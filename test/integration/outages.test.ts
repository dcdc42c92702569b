/**
 * Outages: the EHR and then Kafka go away for a while in the middle of the work. The
 * test owns its own HAPI (on a file-based H2, so it keeps its data across the restart) and Kafka,
 * under .peers/test-outages/, so stopping them breaks no other suite; the store is the shared
 * PostgreSQL. Callers keep getting 202 while a peer is down; once it is back every submission is
 * delivered, the EHR holds exactly the expected resources by identifier, and every submission has
 * exactly one recorded CloudEvent id on Kafka (a redelivery may repeat that id, never add one).
 *
 * OUTAGE_DOWNTIME_MS sets how long each peer stays down: 60 s, as the issue asks, by default (the
 * whole file then takes about 3.5 minutes); set it lower for a quicker local run.
 */
import { resolve } from 'node:path';
import { startHapi } from '../peers/hapi.ts';
import { startKafka } from '../peers/kafka.ts';
import type { RunningPeer } from '../peers/peer.ts';
import { defaultCacheDir } from '../peers/process.ts';
import { loadConfig } from '../../src/platform/config.ts';
import { startService, type RunningService } from '../../src/service.ts';
import { peerEnv } from '../support/peers-env.ts';
import {
  makeWorkload,
  pool,
  postUntilAccepted,
  prepareEhr,
  randomSource,
  recordedEvents,
  unexpectedEhrCounts,
  unexpectedEhrTotals,
  waitAllSettled,
  type WorkItem,
} from '../support/workload.ts';
import { silentLogger } from '../support/silent-logger.ts';

const DOWNTIME_MS = Number(process.env.OUTAGE_DOWNTIME_MS ?? 60_000);
const runDir = resolve('.peers', 'test-outages');

function log(message: string): void {
  process.stderr.write(`outages.test: ${message}\n`);
}

/** Posts every item (a few at a time); each must be answered 202 at the first attempt. */
async function postAll(url: string, items: readonly WorkItem[]): Promise<string[]> {
  const outcomes = await pool(items, 4, (item) => postUntilAccepted(() => url, item, 30_000));
  expect(outcomes.filter((outcome) => outcome.status !== 202 || outcome.retries > 0)).toEqual([]);
  return outcomes.map((outcome) => outcome.id);
}

describe('peer outages', () => {
  const source = randomSource('outage');
  const items = makeWorkload(90, source);
  let hapi: RunningPeer | undefined;
  let kafka: RunningPeer | undefined;
  let service: RunningService | undefined;
  const ids: string[] = [];

  beforeAll(async () => {
    const [startedHapi, startedKafka] = await Promise.allSettled([
      startHapi({ workDir: resolve(runDir, 'hapi'), cacheDir: defaultCacheDir(), persistent: true }),
      startKafka({ workDir: resolve(runDir, 'kafka'), cacheDir: defaultCacheDir() }),
    ]);
    // Whichever did start is stopped in afterAll, even when the other did not.
    if (startedHapi.status === 'fulfilled') hapi = startedHapi.value;
    if (startedKafka.status === 'fulfilled') kafka = startedKafka.value;
    if (hapi === undefined || kafka === undefined) {
      throw new Error(
        [startedHapi, startedKafka]
          .map((result) => (result.status === 'rejected' ? String(result.reason) : ''))
          .join(' '),
      );
    }
    log(`own peers ready: hapi ${hapi.readyMs} ms, kafka ${kafka.readyMs} ms`);
    await prepareEhr(hapi.url);
    const loaded = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: peerEnv('DATABASE_URL'),
      PATIENT_KEY_SECRET: 'outage-test-secret-0123456789abcdef0123',
      KAFKA_BROKERS: kafka.url,
      EHR_BASE_URL: hapi.url,
      EHR_RETRY_INITIAL_MS: '200',
      EHR_RETRY_MAX_MS: '2000',
      EHR_BREAKER_COOLDOWN_MS: '500',
      LOG_LEVEL: 'silent',
      AUTH_MODE: 'off',
      // One client posting and polling hundreds of submissions: the limiter is not what this test is about.
      RATE_LIMIT_PER_SECOND: '100000',
      RATE_LIMIT_BURST: '100000',
    });
    if (!loaded.ok) throw new Error(loaded.errors.join('; '));
    service = await startService(loaded.config, silentLogger);
  }, 420_000);

  afterAll(async () => {
    await service?.stop().catch(() => undefined);
    await Promise.all([hapi?.stop(), kafka?.stop()]);
  });

  it(`keeps accepting while the EHR is down for ${DOWNTIME_MS} ms, then delivers everything exactly once`, async () => {
    if (!hapi?.pause || !hapi.resume || !service) throw new Error('no restartable EHR');
    const url = service.url;
    const batch = items.slice(0, 60);
    ids.push(...(await postAll(url, batch.slice(0, 20))));
    const down = Date.now();
    await hapi.pause();
    ids.push(...(await postAll(url, batch.slice(20))));
    await new Promise((done) => setTimeout(done, Math.max(0, DOWNTIME_MS - (Date.now() - down))));
    await hapi.resume();
    const back = Date.now();
    log(`EHR down ${back - down} ms (restart included)`);

    const statuses = await waitAllSettled(url, ids, 120_000);
    expect([...statuses].filter(([, status]) => status !== 'delivered')).toEqual([]);
    log(`all ${ids.length} delivered ${Date.now() - back} ms after the EHR was back`);
    expect(await unexpectedEhrCounts(hapi.url, batch)).toEqual([]);
  }, 300_000);

  it(`relays every event once Kafka is back after ${DOWNTIME_MS} ms`, async () => {
    if (!kafka?.pause || !kafka.resume || !service || !hapi) throw new Error('no restartable Kafka');
    const url = service.url;
    const batch = items.slice(60);
    ids.push(...(await postAll(url, batch.slice(0, 10))));
    const down = Date.now();
    await kafka.pause();
    ids.push(...(await postAll(url, batch.slice(10))));
    await new Promise((done) => setTimeout(done, Math.max(0, DOWNTIME_MS - (Date.now() - down))));
    await kafka.resume();
    const back = Date.now();
    log(`Kafka down ${back - down} ms (restart included)`);

    const statuses = await waitAllSettled(url, ids, 120_000);
    expect([...statuses].filter(([, status]) => status !== 'delivered')).toEqual([]);
    expect(await unexpectedEhrCounts(hapi.url, items)).toEqual([]);
    // The EHR is ours alone: nothing beyond the expected resources, under any identifier.
    expect(await unexpectedEhrTotals(hapi.url, items)).toEqual([]);
    const { eventIds, messages, invalid } = await recordedEvents({ kafka: kafka.url }, new Set(ids), 120_000);
    expect(invalid).toEqual([]);
    expect(ids.filter((id) => eventIds.get(id)?.size !== 1)).toEqual([]);
    log(
      `${eventIds.size} submissions' events (${messages} messages) on Kafka ${Date.now() - back} ms after it was back`,
    );
  }, 300_000);
});
