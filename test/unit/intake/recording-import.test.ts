// POST /v1/hit-sessions/import in-process (supertest against createApp) on a real SQLite store
// in memory, with recordings made by the FIT SDK's encoder from described traces.
import request from 'supertest';
import { DEFAULT_MAPPING_OPTIONS } from '../../../mappings/common.ts';
import { createPatientKeyer } from '../../../src/events/patient-key.ts';
import { createApp } from '../../../src/intake/app.ts';
import { loadContracts } from '../../../src/intake/contracts.ts';
import { createMetrics } from '../../../src/platform/metrics.ts';
import { createSqliteStore } from '../../../src/store/sqlite-store.ts';
import type { Store } from '../../../src/store/store.ts';
import { HR_MAX, RECORDING_CASES } from '../../support/recording-cases.ts';
import { fitFile, tcxFile } from '../../support/recordings.ts';
import { silentLogger } from '../../support/silent-logger.ts';
import { NATIONAL_ID } from './examples.ts';

const contracts = loadContracts();
const NOW = new Date('2026-03-02T12:00:00Z');
const FIT = 'application/vnd.ant.fit';
const TCX = 'application/vnd.garmin.tcx+xml';

const METADATA = {
  sessionId: 'W-2026-0001',
  source: 'clinic-a',
  patient: { nationalId: NATIONAL_ID },
  performer: { hprNumber: '9144901' },
  modality: 'treadmill',
  protocol: '4x4',
  hrMax: { bpm: HR_MAX, method: 'measured' },
};

async function setup(): Promise<{ app: ReturnType<typeof createApp>; store: Store }> {
  const store = createSqliteStore({ file: ':memory:' });
  await store.migrate();
  const app = createApp({
    logger: silentLogger,
    auth: { mode: 'off' },
    readiness: [],
    readinessTimeoutMs: 1000,
    metrics: createMetrics({ defaultMetrics: false }),
    contracts,
    mappingOptions: DEFAULT_MAPPING_OPTIONS,
    bodyLimitBytes: 256 * 1024,
    submissions: { store, patientKey: createPatientKeyer('unit-test-secret-unit-test-secret'), clock: () => NOW },
  });
  return { app, store };
}

function upload(
  app: ReturnType<typeof createApp>,
  file: Uint8Array | string,
  contentType: string,
  metadata: unknown = METADATA,
  query = '',
): request.Test {
  return request(app)
    .post(`/v1/hit-sessions/import${query}`)
    .field('metadata', typeof metadata === 'string' ? metadata : JSON.stringify(metadata))
    .attach('recording', Buffer.from(file), { filename: 'session.bin', contentType });
}

const caseFit = (name: string): Uint8Array => fitFile(RECORDING_CASES[name]?.spec ?? ({} as never));

interface Preview {
  session: {
    intervals: { durationSeconds: number; meanHr: number; secondsInZone: number }[];
    startedAt: string;
    endedAt: string;
  };
  structure: { method: string; confidence: string; flags: { code: string; message: string }[] };
  recording: { format: string; samples: number; device: string };
}

describe('POST /v1/hit-sessions/import', () => {
  it('previews the session a FIT recording becomes, with the structure found, and stores nothing', async () => {
    const { app, store } = await setup();
    const response = await upload(app, caseFit('treadmill-4x4-with-laps'), FIT, METADATA, '?preview=true');
    expect(response.status).toBe(200);
    const body = response.body as Preview;
    expect(body.structure.method).toBe('laps');
    expect(body.structure.confidence).toBe('high');
    expect(body.session.intervals.map((interval) => interval.durationSeconds)).toEqual([240, 240, 240, 240]);
    expect(body.session.startedAt).toBe('2026-03-02T09:00:00Z');
    expect(body.session.endedAt).toBe('2026-03-02T09:40:00Z');
    expect(body.recording).toMatchObject({ format: 'fit', samples: 2400, device: 'development 1' });
    expect(await store.findSubmission('clinic-a', 'hit-sessions', 'W-2026-0001')).toBeUndefined();
  });

  it('submits the derived session like a posted one: 202, then 200 for the same file again, the timeline names the recording', async () => {
    const { app, store } = await setup();
    const file = caseFit('treadmill-4x4-without-laps');
    const first = await upload(app, file, FIT);
    expect(first.status).toBe(202);
    const again = await upload(app, file, FIT);
    expect(again.status).toBe(200);
    expect((again.body as { id: string }).id).toBe((first.body as { id: string }).id);
    const id = (first.body as { id: string }).id;
    const timeline = await store.timeline(id);
    const note = timeline.find((entry) => entry.kind === 'note');
    expect(note?.message).toBe(
      'Derived from a FIT recording (development 1) with 2400 samples: 4 intervals found from heart-rate, confidence medium.',
    );
    expect(timeline.filter((entry) => entry.kind === 'note')).toHaveLength(1);
  });

  it('keeps nothing of the watch user, the GPS track or the serial number', async () => {
    const { app, store } = await setup();
    const first = await upload(app, caseFit('treadmill-4x4-with-laps'), FIT);
    const stored = await store.getSubmission((first.body as { id: string }).id);
    const kept = JSON.stringify([stored?.body, await store.timeline((first.body as { id: string }).id)]);
    for (const personal of [
      'Testbruker',
      'Syntetisk',
      '81.5',
      '755000000',
      '123000000',
      '4242',
      'position',
      'weight',
    ]) {
      expect(kept).not.toContain(personal);
    }
  });

  it('reads TCX files written from the same trace to the same intervals', async () => {
    const { app } = await setup();
    const spec = RECORDING_CASES['treadmill-4x4-with-laps']?.spec ?? ({} as never);
    const fromFit = (await upload(app, fitFile(spec), FIT, METADATA, '?preview=true')).body as Preview;
    const fromTcx = await upload(app, tcxFile(spec), TCX, METADATA, '?preview=true');
    expect(fromTcx.status).toBe(200);
    expect((fromTcx.body as Preview).session.intervals).toEqual(fromFit.session.intervals);
    expect(JSON.stringify(fromTcx.body)).not.toContain('63.43');
  });

  it('takes HRmax from the prescription when the import sends none', async () => {
    const { app, store } = await setup();
    await store.accept(
      {
        id: '00000000-0000-4000-8000-000000000001',
        kind: 'prescriptions',
        source: 'clinic-a',
        inputId: 'P-1',
        idempotencyKey: undefined,
        bodyHash: 'x',
        body: { hrMax: { bpm: 180, method: 'measured' } },
        patientKey: 'k',
        acceptedAt: NOW,
      },
      { queue: 'ehr-delivery', payload: {}, runAt: NOW },
    );
    const withoutHrMax: Record<string, unknown> = { ...METADATA };
    delete withoutHrMax.hrMax;
    const response = await upload(
      app,
      caseFit('treadmill-4x4-without-laps'),
      FIT,
      { ...withoutHrMax, prescriptionId: 'P-1' },
      '?preview=true',
    );
    expect(response.status).toBe(200);
    expect((response.body as { session: { hrMax: unknown } }).session.hrMax).toEqual({ bpm: 180, method: 'measured' });
  });

  it.each([['a body that is not multipart', 415]])('refuses %s with %i', async (_what, status) => {
    const { app } = await setup();
    const response = await request(app).post('/v1/hit-sessions/import').send({ any: 'json' });
    expect(response.status).toBe(status);
    expect(response.headers['content-type']).toContain('application/problem+json');
  });

  it('refuses metadata that carries what the recording says (422, naming the field)', async () => {
    const { app } = await setup();
    const response = await upload(app, caseFit('treadmill-4x4-without-laps'), FIT, { ...METADATA, intervals: [] });
    expect(response.status).toBe(422);
    expect((response.body as { errors: { field: string; rule: string }[] }).errors).toEqual([
      expect.objectContaining({ field: '/metadata/intervals', rule: 'from-recording' }),
    ]);
  });

  it('names the metadata field that breaks the session rules (422)', async () => {
    const { app } = await setup();
    const response = await upload(app, caseFit('treadmill-4x4-without-laps'), FIT, {
      ...METADATA,
      performer: { hprNumber: 'x' },
    });
    expect(response.status).toBe(422);
    expect(JSON.stringify(response.body)).toContain('/performer/hprNumber');
  });

  it('refuses an import without a recording, an unknown format, and a file with no heart rate (422)', async () => {
    const { app } = await setup();
    const noFile = await request(app).post('/v1/hit-sessions/import').field('metadata', JSON.stringify(METADATA));
    expect(noFile.status).toBe(422);
    expect(JSON.stringify(noFile.body)).toContain('/recording');

    const unknown = await upload(app, 'name,heart rate\nx,120\n', 'text/csv');
    expect(unknown.status).toBe(422);
    expect((unknown.body as { errors: { rule: string }[] }).errors[0]?.rule).toBe('unknown-format');

    const spec = RECORDING_CASES['treadmill-4x4-without-laps']?.spec ?? ({} as never);
    const noHeartRate = await upload(
      app,
      fitFile({ ...spec, noise: { seed: 1, hrJitter: 0, spikeShare: 0, dropouts: [[0, 100_000]] } }),
      FIT,
    );
    expect(noHeartRate.status).toBe(422);
    expect((noHeartRate.body as { errors: { rule: string }[] }).errors[0]?.rule).toBe('no-heart-rate');
  });

  it('refuses a TCX file that declares entities (422), never expanding them', async () => {
    const { app } = await setup();
    const tcx = tcxFile(RECORDING_CASES['treadmill-4x4-without-laps']?.spec ?? ({} as never)).replace(
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]>',
    );
    const response = await upload(app, tcx, TCX);
    expect(response.status).toBe(422);
  });

  it('refuses a recording over 10 MiB with 413 and a TCX file cut short with 422', async () => {
    const { app } = await setup();
    const tooBig = await upload(app, new Uint8Array(10 * 1024 * 1024 + 1), FIT);
    expect(tooBig.status).toBe(413);
    const tcx = tcxFile(RECORDING_CASES['treadmill-4x4-without-laps']?.spec ?? ({} as never));
    const cutShort = await upload(app, tcx.slice(0, Math.floor(tcx.length * 0.7)), TCX);
    expect(cutShort.status).toBe(422);
    expect((cutShort.body as { errors: { rule: string }[] }).errors[0]?.rule).toBe('corrupt');
  });

  it('answers truncated and bit-flipped FIT files with 422, never a 5xx', async () => {
    const { app } = await setup();
    const file = caseFit('treadmill-4x4-with-laps');
    const damaged: Uint8Array[] = [];
    for (const length of [0, 5, 13, 14, 100, Math.floor(file.length / 2), file.length - 3])
      damaged.push(file.slice(0, length));
    let state = 12345;
    for (let flip = 0; flip < 25; flip++) {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      const copy = file.slice();
      const at = state % copy.length;
      copy[at] = (copy[at] ?? 0) ^ (1 << (state % 8));
      damaged.push(copy);
    }
    for (const bytes of damaged) {
      const response = await upload(app, bytes, FIT);
      expect([400, 413, 422]).toContain(response.status);
    }
  });
});
