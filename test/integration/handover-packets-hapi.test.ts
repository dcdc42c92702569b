/**
 * The Frisklivssentral's document against the real HAPI FHIR server with profiles/ loaded.
 *
 * The synthetic stay (test/support/handover-cohort.ts) is mapped by our mappings and posted to
 * HAPI as the hospital EHR would receive it; the resources are read back from the server (ids,
 * resolved references and all), the packets are built from them, and the document Bundle and
 * its Composition pass $validate against their profiles with no error. Each run uses its own
 * `source`, so its business identifiers are new on a server other tests share.
 */
import type { Bundle, Composition, FhirResource } from 'fhir/r4.js';
import { HANDOVER_PROFILES } from '../../src/handover/frisklivssentral-packet.ts';
import { buildHandoverPackets } from '../../src/handover/packets.ts';
import type { FrisklivssentralPacket } from '../../src/handover/types.ts';
import { cohortBundles, factsFor, factsFromStored } from '../support/ehr-view.ts';
import { fhir, loadProfiles, registerPeople, validationErrors } from '../support/fhir-server.ts';
import { COHORT_HPR, handoverCohort, type CohortVariant } from '../support/handover-cohort.ts';
import { peerEnv } from '../support/peers-env.ts';
import { randomSource } from '../support/workload.ts';

const base = peerEnv('EHR_BASE_URL');

/** Posts the stay to HAPI and reads every created resource back as the server holds it. */
async function documentFromHapi(variant: CohortVariant): Promise<FrisklivssentralPacket> {
  const cohort = handoverCohort(variant, randomSource('handover'));
  await registerPeople(base, cohort.prescription.patient.nationalId, Object.values(COHORT_HPR));
  const ids = new Map<string, string[]>();
  for (const bundle of cohortBundles(cohort)) {
    const response = await fhir<Bundle>(base, 'POST', '', bundle);
    if (response.status !== 200) throw new Error(`transaction failed: ${JSON.stringify(response.body)}`);
    for (const entry of response.body.entry ?? []) {
      const [type = '', id = ''] = (entry.response?.location ?? '').split('/');
      ids.set(type, [...(ids.get(type) ?? []), id]);
    }
  }
  // Searches by _id in pages the server accepts, rather than a read per resource: the server is shared.
  const stored: FhirResource[] = [];
  for (const [type, list] of ids) {
    for (let from = 0; from < list.length; from += 40) {
      const page = list.slice(from, from + 40);
      const query = new URLSearchParams({ _id: page.join(','), _count: String(page.length) });
      const found = await fhir<Bundle>(base, 'GET', `${type}?${query.toString()}`);
      if (found.status !== 200) throw new Error(`searching ${type} failed (${found.status})`);
      stored.push(
        ...(found.body.entry ?? []).flatMap((entry) => (entry.resource === undefined ? [] : [entry.resource])),
      );
    }
  }
  expect(stored).toHaveLength([...ids.values()].flat().length);
  const packets = buildHandoverPackets(factsFromStored(cohort, stored));
  if ('omitted' in packets.frisklivssentral) throw new Error('no Frisklivssentral packet');
  return packets.frisklivssentral;
}

function documentFromSimulatedEhr(variant: CohortVariant): FrisklivssentralPacket {
  const packets = buildHandoverPackets(factsFor(handoverCohort(variant)));
  if ('omitted' in packets.frisklivssentral) throw new Error('no Frisklivssentral packet');
  return packets.frisklivssentral;
}

function validate(resource: FhirResource, profile: string): Promise<string[]> {
  return validationErrors(base, resource, profile);
}

beforeAll(async () => {
  await loadProfiles(base);
});

describe('the Frisklivssentral document against the real HAPI FHIR server', () => {
  let typical: FrisklivssentralPacket;
  beforeAll(async () => {
    typical = await documentFromHapi('typical');
  });

  it('typical stay, read back from the server: the Bundle and its Composition validate with no errors', async () => {
    const composition = typical.bundle.entry?.[0]?.resource as Composition;
    expect(await validate(typical.bundle, HANDOVER_PROFILES.bundle)).toEqual([]);
    expect(await validate(composition, HANDOVER_PROFILES.composition)).toEqual([]);
  });

  it('typical stay: the figures are read right from what the server holds', () => {
    const text = JSON.stringify(typical.bundle);
    // VO2max 42.3 → 48.7: 6.4 / 42.3 = 15.13 %; 24 sessions over 8 weeks = 3.0 a week.
    expect(text).toContain('42,3 → 48,7 mL/kg/min (+15,1 %)');
    expect(text).toContain('24 av 24 foreskrevne treningsøkter');
    expect(text).toContain('i snitt 3,0 økter per uke');
  });

  it.each(['no-contact-details', 'interval-only-estimated-hrmax', 'strength-only'] as const)(
    '%s: the Bundle and its Composition validate with no errors',
    async (variant) => {
      const packet = documentFromSimulatedEhr(variant);
      const composition = packet.bundle.entry?.[0]?.resource as Composition;
      expect(await validate(packet.bundle, HANDOVER_PROFILES.bundle)).toEqual([]);
      expect(await validate(composition, HANDOVER_PROFILES.composition)).toEqual([]);
    },
  );

  it('the profiles bite: a Composition without its sections and a Bundle of the wrong type are refused', async () => {
    const composition = typical.bundle.entry?.[0]?.resource as Composition;
    const bare = { ...composition, section: composition.section?.slice(0, 2) };
    expect((await validate(bare, HANDOVER_PROFILES.composition)).join('\n')).toMatch(/section/iu);
    const collection = { ...typical.bundle, type: 'collection' as const };
    expect(await validate(collection, HANDOVER_PROFILES.bundle)).not.toEqual([]);
  });
});
