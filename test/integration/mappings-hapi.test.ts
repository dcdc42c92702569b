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
import type { Bundle, FhirResource, ServiceRequest } from 'fhir/r4.js';
import { DEFAULT_MAPPING_OPTIONS } from '../../mappings/common.ts';
import { withProvenance } from '../../mappings/provenance.ts';
import { PRESCRIPTION_PROFILES } from '../../mappings/prescription.ts';
import { mappers } from '../../mappings/registry.ts';
import { countByIdentifier, fhir, loadProfiles, registerPeople, validationErrors } from '../support/fhir-server.ts';
import { fixtureCases, readInput, type FixtureCase } from '../support/fixtures.ts';
import { peerEnv } from '../support/peers-env.ts';
import type { Inputs, RecordKind } from '../../src/kinds/kinds.ts';

const base = peerEnv('EHR_BASE_URL');
const source = `it-${randomBytes(4).toString('hex')}`;
// Prescriptions first: sessions refer to their prescription (basedOn) by identifier.
const cases = fixtureCases(['prescriptions', 'fitness-tests', 'hit-sessions']);

function bundleFor(fixture: FixtureCase): Bundle {
  const input = { ...readInput(fixture), source } as Inputs[RecordKind];
  return (mappers[fixture.kind] as (input: Inputs[RecordKind], options: typeof DEFAULT_MAPPING_OPTIONS) => Bundle)(
    input,
    DEFAULT_MAPPING_OPTIONS,
  );
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

beforeAll(async () => {
  await loadProfiles(base);
  for (const fixture of cases) {
    const { nationalId, hprNumbers } = people(fixture);
    await registerPeople(base, nationalId, hprNumbers);
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
        const errors = await validationErrors(base, resource, resource.meta?.profile?.[0] ?? '');
        problems.push(...errors.map((error) => `${resource.resourceType} ${error}`));
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

describe('the Provenance every EHR write carries (mappings/provenance.ts)', () => {
  const provenanceSource = `it-prov-${randomBytes(4).toString('hex')}`;
  const prescription = fixtureCases(['prescriptions'])[0];

  it('validates in HAPI, names every written resource, and a redelivery leaves one Provenance', async () => {
    if (prescription === undefined) throw new Error('no prescription fixture');
    const { nationalId, hprNumbers } = people(prescription);
    await registerPeople(base, nationalId, hprNumbers);
    const input = { ...readInput(prescription), source: provenanceSource } as Inputs['prescriptions'];
    const bundle = withProvenance(mappers.prescriptions(input, DEFAULT_MAPPING_OPTIONS), {
      recorded: '2026-05-04T10:15:00.000Z',
      source: provenanceSource,
    });
    const provenance = bundle.entry?.at(-1)?.resource as FhirResource;
    expect(provenance.resourceType).toBe('Provenance');
    expect(await validationErrors(base, provenance, 'http://hl7.org/fhir/StructureDefinition/Provenance')).toEqual([]);

    const first = await fhir<Bundle>(base, 'POST', '', bundle);
    expect(first.status).toBe(200);
    const again = await fhir<Bundle>(base, 'POST', '', bundle);
    expect(again.status).toBe(200);
    expect(again.body.entry?.at(-1)?.response?.status).toMatch(/^200/);

    const anchor = (
      bundle.entry?.[0]?.resource as { resourceType: string; identifier?: { system?: string; value?: string }[] }
    ).identifier?.[0];
    const firstType = bundle.entry?.[0]?.resource?.resourceType ?? '';
    const query = new URLSearchParams({
      [`target:${firstType}.identifier`]: `${anchor?.system ?? ''}|${anchor?.value ?? ''}`,
    });
    const found = await fhir<Bundle>(base, 'GET', `Provenance?${query.toString()}`);
    expect(found.body.entry).toHaveLength(1);
    const stored = found.body.entry?.[0]?.resource as { target: { reference?: string }[]; recorded: string };
    expect(stored.target).toHaveLength((bundle.entry?.length ?? 0) - 1);
    expect(stored.recorded).toBe('2026-05-04T10:15:00.000Z');
  });
});

describe('the structured prescription dose (profiles hit-interval-dose, hit-strength-dose)', () => {
  const prescription = fixtureCases(['prescriptions']).find((fixture) => fixture.name === 'typical-4x4-strength');

  function serviceRequest(): ServiceRequest {
    if (prescription === undefined) throw new Error('no typical prescription fixture');
    return bundleFor(prescription).entry?.[0]?.resource as ServiceRequest;
  }

  it('refuses a dose part of the wrong type and a part the extension does not define', async () => {
    const wrongType = serviceRequest();
    const interval = wrongType.orderDetail?.[0]?.extension?.[0];
    interval?.extension?.splice(0, 1, { url: 'sessionsPerWeek', valueString: 'three' });
    const unknownPart = serviceRequest();
    unknownPart.orderDetail?.[1]?.extension?.[0]?.extension?.push({ url: 'tempo', valueString: 'rask' });
    const profile = PRESCRIPTION_PROFILES.serviceRequest;
    expect(await validationErrors(base, serviceRequest(), profile)).toEqual([]);
    expect(await validationErrors(base, wrongType, profile)).not.toEqual([]);
    expect(await validationErrors(base, unknownPart, profile)).not.toEqual([]);
  });
});
