// How service.ts feeds the two handover gauges, on the embedded defaults (SQLite, its log as the
// bus) with no EHR, so nothing hands a discharge over: what waits is seen as lag, not as 0, and a
// process without the handover role shows neither series. (With a real EHR and Kafka:
// test/integration/metrics.test.ts and handover.test.ts.)
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/platform/config.ts';
import { createLogger } from '../../../src/platform/logger.ts';
import { METRIC_NAMES } from '../../../src/platform/metrics.ts';
import { startService, type RunningService } from '../../../src/service.ts';
import { NATIONAL_ID } from '../intake/examples.ts';
import { until } from '../../support/until.ts';

const silent = createLogger({ level: 'silent', pretty: false });

const DISCHARGE = {
  dischargeId: 'D-GAUGES-1',
  source: 'clinic-gauges',
  patient: { nationalId: NATIONAL_ID, givenName: 'Kari', phone: '+47 400 00 009' },
  dischargedAt: '2026-05-04T10:00:00+02:00',
  prescriptionId: 'RX-GAUGES-1',
  municipality: '9901',
  recipients: {},
  consent: { frisklivssentral: true, trainingContact: false },
  hospitalContact: { name: 'Siri Sykepleier', phone: '+47 400 00 030' },
  summary: 'Fullførte 24 av 24 økter.',
};

async function serve(roles: string): Promise<RunningService> {
  const loaded = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'hit-bridge-gauges-')),
    AUTH_MODE: 'off',
    LOG_LEVEL: 'silent',
    ROLES: roles,
  });
  if (!loaded.ok) throw new Error(loaded.errors.join('; '));
  return startService(loaded.config, silent);
}

/** The value of an unlabelled series, or undefined when it is not exposed. */
async function gauge(service: RunningService, name: string): Promise<string | undefined> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  return text
    .split('\n')
    .find((line) => line.startsWith(`${name} `))
    ?.slice(name.length + 1);
}

describe('handover gauges as the service feeds them', () => {
  const services: RunningService[] = [];
  afterAll(async () => {
    for (const service of services) await service.stop();
  });

  it('counts a discharge nobody has handled yet as consumer lag (no EHR configured), and nothing as awaiting an answer', async () => {
    const service = await serve('api,ehr,relay,handover');
    services.push(service);
    expect(await gauge(service, METRIC_NAMES.handoverConsumerLag)).toBe('0');
    expect(await gauge(service, METRIC_NAMES.handoversAwaitingAck)).toBe('0');

    const posted = await fetch(`${service.url}/v1/discharges`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(DISCHARGE),
    });
    expect(posted.status).toBe(202);
    // The relay puts its event on the handover topic; without an EHR no worker takes it off.
    await until('the discharge event waiting on the handover topic', async () => {
      return (await gauge(service, METRIC_NAMES.handoverConsumerLag)) === '1';
    });
    expect(await gauge(service, METRIC_NAMES.handoversAwaitingAck)).toBe('0');
  });

  it('exposes neither gauge in a process without the handover role, rather than a reassuring 0', async () => {
    const service = await serve('api,ehr,relay');
    services.push(service);
    expect(await gauge(service, METRIC_NAMES.handoverConsumerLag)).toBeUndefined();
    expect(await gauge(service, METRIC_NAMES.handoversAwaitingAck)).toBeUndefined();
    // The scrape itself works: the other series are there.
    expect(await gauge(service, METRIC_NAMES.ehrCircuitRejections)).toBe('0');
  });
});
