/**
 * A pulse watch's recording through the API into the real HAPI FHIR server: imported as a FIT
 * file, it must end up as the same Procedure and Observations as the equivalent HIT session
 * posted as JSON (the session the preview shows), apart from the session id they are filed under.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bundle, FhirResource } from 'fhir/r4.js';
import { DEFAULT_MAPPING_OPTIONS } from '../../mappings/common.ts';
import { mappers } from '../../mappings/registry.ts';
import type { HitSessionInput } from '../../mappings/inputs.ts';
import { loadConfig } from '../../src/platform/config.ts';
import { startService, type RunningService } from '../../src/service.ts';
import { fhir, loadProfiles, registerPeople } from '../support/fhir-server.ts';
import { peerEnv } from '../support/peers-env.ts';
import { HR_MAX, RECORDING_CASES } from '../support/recording-cases.ts';
import { fitFile } from '../support/recordings.ts';
import { silentLogger } from '../support/silent-logger.ts';
import { unregisteredSyntheticId } from '../support/synthetic-ids.ts';

const ehr = peerEnv('EHR_BASE_URL');
const HPR = '9144901';

async function importFit(base: string, metadata: unknown, query = ''): Promise<Response> {
  const form = new FormData();
  form.set('metadata', JSON.stringify(metadata));
  const file = fitFile(RECORDING_CASES['treadmill-4x4-with-laps']?.spec ?? ({} as never));
  form.set('recording', new Blob([Buffer.from(file)], { type: 'application/vnd.ant.fit' }), 'session.fit');
  return fetch(`${base}/v1/hit-sessions/import${query}`, { method: 'POST', body: form });
}

async function delivered(base: string, id: string): Promise<string> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const body = (await (await fetch(`${base}/v1/submissions/${id}`)).json()) as { status: string };
    if (body.status !== 'accepted' || Date.now() > deadline) return body.status;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** What HAPI holds for one session: each resource the mapping makes, found by its business identifier. */
async function heldFor(session: HitSessionInput): Promise<FhirResource[]> {
  const bundle = mappers['hit-sessions'](session, DEFAULT_MAPPING_OPTIONS);
  const held: FhirResource[] = [];
  for (const entry of bundle.entry ?? []) {
    const resource = entry.resource as
      (FhirResource & { identifier?: { system?: string; value?: string }[] }) | undefined;
    const identifier = resource?.identifier?.[0];
    if (resource === undefined || identifier === undefined) continue;
    const query = new URLSearchParams({ identifier: `${identifier.system ?? ''}|${identifier.value ?? ''}` });
    const found = await fhir<Bundle>(ehr, 'GET', `${resource.resourceType}?${query.toString()}`);
    expect(found.body.total).toBe(1);
    const only = found.body.entry?.[0]?.resource;
    if (only !== undefined) held.push(only);
  }
  return held;
}

/** The resources with the server's ids, versions and times and the session's own id taken out. */
function comparable(resources: readonly FhirResource[], sessionId: string): unknown {
  const text = JSON.stringify(resources)
    .replaceAll(sessionId, '<session>')
    .replace(/"(Observation|Procedure|Patient|Practitioner|ServiceRequest|Encounter)\/\d+"/g, '"$1/<id>"');
  return (JSON.parse(text) as (FhirResource & { meta?: unknown })[]).map(({ id: _id, meta: _meta, ...rest }) => rest);
}

describe('a recording imported into the real EHR', () => {
  let service: RunningService;
  // The session ids ('rec-1', 'json-1') must not occur inside the source, because comparable()
  // replaces them wherever they appear: 'it-rec-' followed by hex starting with 1 once did, and
  // the two systems then differed. Hex has no 'r', 'j' or 's', so this prefix cannot.
  const source = `it-import-${randomBytes(4).toString('hex')}`;
  const nationalId = unregisteredSyntheticId();

  beforeAll(async () => {
    await loadProfiles(ehr);
    await registerPeople(ehr, nationalId, [HPR]);
    const loaded = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: mkdtempSync(join(tmpdir(), 'hit-bridge-recording-')),
      EHR_BASE_URL: ehr,
      EHR_RETRY_INITIAL_MS: '200',
      LOG_LEVEL: 'silent',
      AUTH_MODE: 'off',
    });
    if (!loaded.ok) throw new Error(loaded.errors.join('; '));
    service = await startService(loaded.config, silentLogger);
  });

  afterAll(async () => {
    await service.stop();
  });

  it('becomes the same Procedure and Observations as the equivalent JSON session', async () => {
    const metadata = {
      source,
      patient: { nationalId },
      performer: { hprNumber: HPR },
      modality: 'treadmill',
      protocol: '4x4',
      hrMax: { bpm: HR_MAX, method: 'measured' },
    };
    const preview = await importFit(service.url, { ...metadata, sessionId: 'json-1' }, '?preview=true');
    expect(preview.status).toBe(200);
    const equivalent = ((await preview.json()) as { session: HitSessionInput }).session;

    const posted = await fetch(`${service.url}/v1/hit-sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(equivalent),
    });
    expect(posted.status).toBe(202);
    const imported = await importFit(service.url, { ...metadata, sessionId: 'rec-1' });
    expect(imported.status).toBe(202);

    expect(await delivered(service.url, ((await posted.json()) as { id: string }).id)).toBe('delivered');
    expect(await delivered(service.url, ((await imported.json()) as { id: string }).id)).toBe('delivered');

    const fromJson = await heldFor(equivalent);
    const fromRecording = await heldFor({ ...equivalent, sessionId: 'rec-1' });
    expect(fromJson.map((resource) => resource.resourceType)).toContain('Procedure');
    expect(fromJson.filter((resource) => resource.resourceType === 'Observation').length).toBeGreaterThan(4);
    expect(comparable(fromRecording, 'rec-1')).toEqual(comparable(fromJson, 'json-1'));
  });
});
