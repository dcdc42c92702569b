/**
 * The dips-arena EHR profile against the DIPS-configured HAPI (test/peers/hapi-dips.ts): a real
 * HAPI FHIR server with DIPS Core IG's profiles loaded from third_party/dips-core-ig/, holding
 * every Procedure to DIPSR4Procedure on write, as DIPS Arena does.
 *
 * - every mapping fixture, shaped for DIPS, validates against DIPSR4Procedure with no error;
 * - the old generic Bundle is refused by that server (so the profile check bites);
 * - through the API: sessions, fitness tests and prescriptions are delivered, posting again
 *   creates nothing, a missing episodeId is a 422 naming it, and no Procedure on the server has
 *   an element DIPS forbids.
 *
 * One error is passed over, as the peer does on write: DIPS_PROFILE_DEFECTS, the validator's
 * complaint about the profile's own identifier slicing, which DIPS's published example Procedure
 * gets too (the first test shows it).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bundle, FhirResource, OperationOutcome, Procedure } from 'fhir/r4.js';
import { DEFAULT_MAPPING_OPTIONS, type MappingOptions } from '../../mappings/common.ts';
import { mappers } from '../../mappings/registry.ts';
import { loadConfig } from '../../src/platform/config.ts';
import { startService, type RunningService } from '../../src/service.ts';
import type { Inputs, RecordKind } from '../../src/kinds/kinds.ts';
import { DIPS_IG_DIR, DIPS_PROCEDURE_PROFILE, DIPS_PROFILE_DEFECTS } from '../peers/hapi-dips.ts';
import { errorsOf, fhir, registerPeople } from '../support/fhir-server.ts';
import { fixtureCases, readInput, withEpisode, type FixtureCase } from '../support/fixtures.ts';
import { peerEnv } from '../support/peers-env.ts';
import { silentLogger } from '../support/silent-logger.ts';

const dips = peerEnv('DIPS_EHR_BASE_URL');
const DIPS_ARENA: MappingOptions = { ...DEFAULT_MAPPING_OPTIONS, ehrProfile: 'dips-arena' };
const FORBIDDEN = (
  JSON.parse(readFileSync(join(DIPS_IG_DIR, 'StructureDefinition-DIPSR4Procedure.differential.json'), 'utf8')) as {
    differential: { element: { id: string; max?: string }[] };
  }
).differential.element
  .filter((e) => e.max === '0' && /^Procedure\.[A-Za-z]+$/.test(e.id))
  .map((e) => e.id.replace('Procedure.', ''));

function mapWith<K extends RecordKind>(kind: K, input: Inputs[K], options: MappingOptions): Bundle {
  return mappers[kind](input, options);
}

function withSourceAndEpisode(fixture: FixtureCase, source: string): Inputs[RecordKind] {
  return withEpisode({ ...readInput(fixture), source });
}

/** $validate against DIPSR4Procedure: the errors, less the profile's own defect. */
async function dipsErrors(resource: FhirResource): Promise<string[]> {
  const query = new URLSearchParams({ profile: DIPS_PROCEDURE_PROFILE });
  const result = await fhir<OperationOutcome>(dips, 'POST', `Procedure/$validate?${query.toString()}`, resource);
  const outcome: OperationOutcome = {
    ...result.body,
    issue: result.body.issue.filter(
      (issue) =>
        !issue.extension?.some(
          (ext) =>
            ext.url.endsWith('operationoutcome-message-id') && DIPS_PROFILE_DEFECTS.includes(ext.valueString ?? ''),
        ),
    ),
  };
  return errorsOf(outcome);
}

function people(fixture: FixtureCase): { nationalId: string; hpr: string[] } {
  const input = readInput(fixture) as {
    patient: { nationalId: string };
    performer?: { hprNumber: string };
    prescriber?: { hprNumber: string };
  };
  return {
    nationalId: input.patient.nationalId,
    hpr: [input.performer?.hprNumber, input.prescriber?.hprNumber].filter((v): v is string => v !== undefined),
  };
}

describe('DIPSR4Procedure in the DIPS-configured HAPI', () => {
  it("passes over only the profile's own slicing defect, which DIPS's example Procedure gets too", async () => {
    const example = JSON.parse(
      readFileSync(join(DIPS_IG_DIR, 'Procedure-agv1001423.example.json'), 'utf8'),
    ) as Procedure;
    const query = new URLSearchParams({ profile: DIPS_PROCEDURE_PROFILE });
    const raw = await fhir<OperationOutcome>(dips, 'POST', `Procedure/$validate?${query.toString()}`, example);
    expect(errorsOf(raw.body).length).toBeGreaterThan(0);
    expect(await dipsErrors(example)).toEqual([]);
  });

  it.each(fixtureCases().map((c) => [`${c.kind}/${c.name}`, c] as const))(
    '%s under dips-arena: every resource validates with no error',
    async (_label, c) => {
      const bundle = mapWith(c.kind, withEpisode(readInput(c)), DIPS_ARENA);
      if (c.kind !== 'hit-sessions') expect(bundle.entry).toEqual([]);
      const problems: string[] = [];
      for (const entry of bundle.entry ?? []) problems.push(...(await dipsErrors(entry.resource as FhirResource)));
      expect(problems).toEqual([]);
    },
  );

  it('refuses the old generic Bundle of a session, naming DIPS rules it breaks', async () => {
    const source = `it-dips-generic-${randomBytes(4).toString('hex')}`;
    const session = fixtureCases(['hit-sessions']).find((c) => c.name === 'typical-4x4');
    const prescription = fixtureCases(['prescriptions']).find((c) => c.name === 'typical-4x4-strength');
    if (session === undefined || prescription === undefined) throw new Error('fixtures missing');
    for (const c of [session, prescription]) await registerPeople(dips, people(c).nationalId, people(c).hpr);
    // Its prescription first, so the only thing wrong with the session is its shape.
    const rx = await fhir<Bundle>(
      dips,
      'POST',
      '',
      mapWith(
        'prescriptions',
        { ...readInput(prescription as FixtureCase<'prescriptions'>), source },
        DEFAULT_MAPPING_OPTIONS,
      ),
    );
    expect(rx.status).toBe(200);
    const generic = mapWith(
      'hit-sessions',
      { ...readInput(session as FixtureCase<'hit-sessions'>), source },
      DEFAULT_MAPPING_OPTIONS,
    );
    const refused = await fhir<OperationOutcome>(dips, 'POST', '', generic);
    expect(refused.status).toBe(422);
    const text = JSON.stringify(refused.body);
    expect(text).toContain('DIPSR4Procedure');
    expect(text).toMatch(/Procedure\.basedOn: max allowed = 0/);
  });
});

describe('the service with EHR_PROFILE=dips-arena, delivering to the DIPS-configured HAPI', () => {
  const source = `it-dips-${randomBytes(4).toString('hex')}`;
  let service: RunningService;

  interface StatusBody {
    status: string;
    ehrReferences: string[];
    timeline: { kind: string; message: string }[];
  }

  async function post(kind: RecordKind, input: unknown): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`${service.url}/v1/${kind}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(input),
    });
    return { status: response.status, body: await response.json() };
  }

  async function settled(id: string): Promise<StatusBody> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const body = (await (await fetch(`${service.url}/v1/submissions/${id}`)).json()) as StatusBody;
      if (body.status !== 'accepted' || Date.now() > deadline) return body;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  async function procedures(): Promise<Procedure[]> {
    const found = await fhir<Bundle>(
      dips,
      'GET',
      `Procedure?identifier=${encodeURIComponent(`https://hit-bridge.no/fhir/sid/${source}|`)}&_count=200`,
    );
    return (found.body.entry ?? []).map((entry) => entry.resource as Procedure);
  }

  beforeAll(async () => {
    const loaded = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: mkdtempSync(join(tmpdir(), 'hit-bridge-dips-')),
      EHR_BASE_URL: dips,
      EHR_PROFILE: 'dips-arena',
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

  it('delivers sessions, fitness tests and prescriptions; posting them again creates nothing', async () => {
    const cases = fixtureCases(['prescriptions', 'fitness-tests', 'hit-sessions']);
    const ids: string[] = [];
    for (const c of cases) {
      const accepted = await post(c.kind, withSourceAndEpisode(c, source));
      expect([c.name, accepted.status]).toEqual([c.name, 202]);
      ids.push((accepted.body as { id: string }).id);
    }
    const statuses: string[] = [];
    for (const [index, id] of ids.entries()) {
      const status = await settled(id);
      statuses.push(
        `${cases[index]?.kind}/${cases[index]?.name}: ${status.status} ${status.status === 'delivered' ? '' : JSON.stringify(status.timeline.at(-1))}`,
      );
    }
    expect(statuses.filter((line) => !line.includes(': delivered'))).toEqual([]);
    const sessions = cases.filter((c) => c.kind === 'hit-sessions').length;
    expect(await procedures()).toHaveLength(sessions);

    for (const c of cases) {
      const again = await post(c.kind, withSourceAndEpisode(c, source));
      expect([c.name, again.status]).toEqual([c.name, 200]);
    }
    expect(await procedures()).toHaveLength(sessions);
  }, 300_000);

  it('holds no Procedure with an element DIPS forbids, each on the care episode sent', async () => {
    const held = await procedures();
    expect(held.length).toBeGreaterThan(0);
    for (const procedure of held) {
      expect(FORBIDDEN.filter((element) => Object.hasOwn(procedure, element))).toEqual([]);
      expect(procedure.encounter?.identifier?.value).toBe('9000001');
      expect(procedure.code?.coding).toHaveLength(1);
    }
  });

  it('answers 422 naming /episodeId when a session comes without it', async () => {
    const c = fixtureCases(['hit-sessions'])[0];
    if (c === undefined) throw new Error('no session fixture');
    const response = await post('hit-sessions', { ...readInput(c), source, sessionId: 'no-episode' });
    expect(response.status).toBe(422);
    expect((response.body as { errors: { field: string }[] }).errors.map((e) => e.field)).toEqual(['/episodeId']);
  });
});
