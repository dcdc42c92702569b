// How service.ts feeds the submission gauges (failed now by reason, oldest undelivered age) from
// the store's summary, on the embedded defaults with no EHR: a submission waits, so its age shows;
// a failure written through a second connection to the same file shows under its reason.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/platform/config.ts';
import { METRIC_NAMES } from '../../../src/platform/metrics.ts';
import { startService, type RunningService } from '../../../src/service.ts';
import { createSqliteStore } from '../../../src/store/sqlite-store.ts';
import { silentLogger } from '../../support/silent-logger.ts';
import { HIT_SESSION } from '../intake/examples.ts';
import { until } from '../../support/until.ts';

/** Every sample of a series: labels (as written) → value. */
async function samples(service: RunningService, name: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  const found = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`).exec(line);
    if (match) found.set(match[1] ?? '', Number(match[2]));
  }
  return found;
}

describe('submission gauges as the service feeds them', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hit-bridge-submission-gauges-'));
  let service: RunningService;

  beforeAll(async () => {
    const loaded = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      AUTH_MODE: 'off',
      LOG_LEVEL: 'silent',
    });
    if (!loaded.ok) throw new Error(loaded.errors.join('; '));
    service = await startService(loaded.config, silentLogger);
  });
  afterAll(async () => {
    await service.stop();
  });

  it('shows 0 for every reason and no age while nothing waits', async () => {
    expect(await samples(service, METRIC_NAMES.oldestUndeliveredAge)).toEqual(new Map([['', 0]]));
    expect(await samples(service, METRIC_NAMES.submissionsFailedNow)).toEqual(
      new Map(
        ['ehr-refused', 'ehr-unreachable', 'prescription-missing', 'unrecorded'].map((reason) => [
          `{reason="${reason}"}`,
          0,
        ]),
      ),
    );
  });

  it('shows the age of a submission on its way, and a failed one under its reason', async () => {
    const posted = await fetch(`${service.url}/v1/hit-sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(HIT_SESSION),
    });
    expect(posted.status).toBe(202);
    await until(
      'an undelivered age',
      async () => ((await samples(service, METRIC_NAMES.oldestUndeliveredAge)).get('') ?? 0) > 0,
    );

    // No EHR is configured, so nothing delivers it: fail it as the worker would, from the side.
    const side = createSqliteStore({ file: join(dataDir, 'hit-bridge.db') });
    try {
      const [job] = await side.claim('ehr-delivery', 'test', { now: new Date(), leaseMs: 60_000, limit: 1 });
      if (job === undefined) throw new Error('no job to fail');
      await side.fail(
        job,
        {
          status: 'failed',
          timeline: [
            { at: new Date(), kind: 'failed', message: 'refused', detail: { reason: 'ehr-refused', httpStatus: 422 } },
          ],
        },
        new Date(),
      );
    } finally {
      await side.close();
    }
    await until(
      'the failure counted',
      async () => (await samples(service, METRIC_NAMES.submissionsFailedNow)).get('{reason="ehr-refused"}') === 1,
    );
    // Nothing else waits now.
    await until(
      'no undelivered age',
      async () => (await samples(service, METRIC_NAMES.oldestUndeliveredAge)).get('') === 0,
    );
  });
});
