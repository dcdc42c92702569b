/**
 * Every golden fixture, mapped, against the real HAPI FHIR server with profiles/ loaded: each
 * resource passes $validate against its profile with no error, the transaction Bundle posts,
 * and posting it again creates nothing new.
 *
 * The server plays the hospital EHR, which owns patients and practitioners: the test registers
 * them first (hit-bridge never creates them). Each run uses its own `source`, so its business
 * identifiers are new even on a server that has seen earlier runs.
 */
import { randomBytes } from 'node:crypto';
import type { Bundle, BundleEntry, FhirResource, OperationOutcome } from 'fhir/r4.js';
import { DEFAULT_MAPPING_OPTIONS } from '../../mappings/common.ts';
import { IDENTIFIER_SYSTEMS } from '../../mappings/terminology.ts';
import { mappers, type InputKindName, type InputKinds } from '../../mappings/registry.ts';
import { parseNationalId } from '../../src/domain/national-id.ts';
import { countByIdentifier, errorsOf, fhir, loadProfiles } from '../support/fhir-server.ts';
import { fixtureCases, readInput, type FixtureCase } from '../support/fixtures.ts';
import { peerEnv } from '../support/peers-env.ts';

const base = peerEnv('EHR_BASE_URL');
const source = `it-${randomBytes(4).toString('hex')}`;
// Prescriptions first: sessions refer to their prescription (basedOn) by identifier.
const cases = fixtureCases(['prescriptions', 'fitness-tests', 'hit-sessions']);

function bundleFor(fixture: FixtureCase): Bundle {
  const input = { ...readInput(fixture), source } as InputKinds[InputKindName];
  return (
    mappers[fixture.kind] as (input: InputKinds[InputKindName], options: typeof DEFAULT_MAPPING_OPTIONS) => Bundle
  )(input, DEFAULT_MAPPING_OPTIONS);
}

function people(fixture: FixtureCase): { nationalId: string; hprNumbers: string[] } {
  const input = readInput(fixture) as {
    patient: { nationalId: string };
    performer?: { hprNumber: string };
    prescriber?: { hprNumber: string };
  };
  return {
    nationalId: input.patient.nationalId,
    hprNumbers: [input.performer?.hprNumber, input.prescriber?.hprNumber].filter(
      (hpr): hpr is string => hpr !== undefined,
    ),
  };
}

/** What the EHR would already hold: the patient and the health professional, created once. */
async function registerPeople(nationalId: string, hprNumbers: string[]): Promise<void> {
  const parsed = parseNationalId(nationalId);
  if (!parsed.ok) throw new Error(`fixture national id invalid: ${parsed.reason}`);
  const patientIdentifier = { system: parsed.value.identifierSystem, value: nationalId };
  const entries: BundleEntry[] = [
    {
      resource: { resourceType: 'Patient', identifier: [patientIdentifier], birthDate: parsed.value.birthDate },
      request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${patientIdentifier.system}|${nationalId}` },
    },
    ...hprNumbers.map((hpr) => ({
      resource: { resourceType: 'Practitioner' as const, identifier: [{ system: IDENTIFIER_SYSTEMS.hpr, value: hpr }] },
      request: {
        method: 'POST' as const,
        url: 'Practitioner',
        ifNoneExist: `identifier=${IDENTIFIER_SYSTEMS.hpr}|${hpr}`,
      },
    })),
  ];
  const result = await fhir(base, 'POST', '', { resourceType: 'Bundle', type: 'transaction', entry: entries });
  if (result.status !== 200)
    throw new Error(`registering patient/practitioners failed: ${JSON.stringify(result.body)}`);
}

beforeAll(async () => {
  await loadProfiles(base);
  for (const fixture of cases) {
    const { nationalId, hprNumbers } = people(fixture);
    await registerPeople(nationalId, hprNumbers);
  }
});

describe('mapped fixtures against the real HAPI FHIR server', () => {
  it('has fixtures to check', () => {
    expect(cases.length).toBeGreaterThan(0);
  });

  it.each(cases.map((fixture) => [`${fixture.kind}/${fixture.name}`, fixture] as const))(
    '%s: every resource validates against its profile with no errors',
    async (_label, fixture) => {
      const problems: string[] = [];
      for (const entry of bundleFor(fixture).entry ?? []) {
        const resource = entry.resource as FhirResource;
        expect(resource.meta?.profile?.length).toBeGreaterThan(0);
        const profile = resource.meta?.profile?.[0] ?? '';
        const query = new URLSearchParams({ profile });
        const result = await fhir<OperationOutcome>(
          base,
          'POST',
          `${resource.resourceType}/$validate?${query.toString()}`,
          resource,
        );
        problems.push(...errorsOf(result.body).map((error) => `${resource.resourceType} ${error}`));
      }
      expect(problems).toEqual([]);
    },
  );

  it.each(cases.map((fixture) => [`${fixture.kind}/${fixture.name}`, fixture] as const))(
    '%s: posts as a transaction, and posting it again creates nothing new',
    async (_label, fixture) => {
      const bundle = bundleFor(fixture);
      const first = await fhir<Bundle>(base, 'POST', '', bundle);
      expect([first.status, first.status === 200 ? '' : JSON.stringify(first.body)]).toEqual([200, '']);
      expect(first.body.entry?.map((entry) => entry.response?.status)).toEqual(bundle.entry?.map(() => '201 Created'));

      const second = await fhir<Bundle>(base, 'POST', '', bundle);
      expect(second.status).toBe(200);
      expect(second.body.entry?.map((entry) => entry.response?.status)).toEqual(bundle.entry?.map(() => '200 OK'));

      for (const entry of bundle.entry ?? []) {
        const resource = entry.resource as FhirResource & { identifier?: { system?: string; value?: string }[] };
        const identifier = resource.identifier?.[0];
        const count = await countByIdentifier(
          base,
          resource.resourceType,
          identifier?.system ?? '',
          identifier?.value ?? '',
        );
        expect([resource.resourceType, identifier?.value, count]).toEqual([
          resource.resourceType,
          identifier?.value,
          1,
        ]);
      }
    },
  );
});
