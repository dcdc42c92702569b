/**
 * The EHR adapter of the facts source (facts-source.ts), for the EHR profile `generic`: what the
 * packets need, found in the EHR by FHIR search — not from hit-bridge's own copies of the inputs
 * (those are the dips-arena adapter's, store-facts.ts): the EHR is the record, and what it holds (after its own resolution of references,
 * perhaps after corrections made there) is what the municipality must get.
 *
 * 1. the Patient, by national id (the EHR owns it; hit-bridge never creates one);
 * 2. the prescription ServiceRequest, by its business identifier (source + prescriptionId), and
 *    its CarePlan, by the CarePlan's business identifier;
 * 3. the sessions: training Procedures based on that ServiceRequest, done by the discharge;
 * 4. the fitness tests: Observations of our fitness-test profiles for the patient over the stay.
 *
 * A patient or prescription the EHR does not have yet is "not yet" (the prescription may still be
 * on its way through the delivery worker): the handover waits and asks again. Only the EHR's own
 * permanent refusals (a 4xx to a search) fail the handover.
 */
import type { CarePlan, FhirResource, Observation, Procedure, ServiceRequest } from 'fhir/r4.js';
import { businessIdentifier, searchToken } from '../../mappings/common.ts';
import { HIT_SESSION_PROFILES } from '../../mappings/hit-session.ts';
import { parseNationalId } from '../domain/national-id.ts';
import type { Ehr } from '../delivery/ehr.ts';
import {
  FITNESS_RESULT_PROFILES,
  hospitalContactFor,
  stayWindow,
  type FactsSource,
  type GatherInput,
  type Gathered,
} from './facts-source.ts';

/** The EHR adapter of the facts source: the EHR profile `generic`. */
export function ehrFactsSource(ehr: Ehr): FactsSource {
  return { origin: 'the EHR', gather: (input, signal) => gatherFacts(ehr, input, signal) };
}

export async function gatherFacts(ehr: Ehr, input: GatherInput, signal?: AbortSignal): Promise<Gathered> {
  const { discharge } = input;
  const parsed = parseNationalId(discharge.patient.nationalId);
  // Validated at intake; an invalid id here is a bug.
  if (!parsed.ok) throw new Error(`handover of an invalid national id: ${parsed.reason}`);

  const patients = await ehr.search(
    'Patient',
    { identifier: `${parsed.value.identifierSystem}|${discharge.patient.nationalId}` },
    signal,
  );
  if (!patients.ok) return { kind: 'failed', failure: patients.failure };
  const patient = patients.result.find((r) => r.resourceType === 'Patient');
  if (patient?.id === undefined) return { kind: 'not-yet', reason: 'the EHR has no Patient with this national id yet' };
  const patientReference = `Patient/${patient.id}`;

  const prescriptionId = businessIdentifier(discharge.source, 'prescription', discharge.prescriptionId);
  const requests = await ehr.search('ServiceRequest', { identifier: searchToken(prescriptionId) }, signal);
  if (!requests.ok) return { kind: 'failed', failure: requests.failure };
  const prescription = only<ServiceRequest>(requests.result, 'ServiceRequest');
  if (prescription?.id === undefined) {
    return {
      kind: 'not-yet',
      reason: `the EHR has no prescription ${discharge.prescriptionId} from ${discharge.source} yet`,
    };
  }

  const carePlanId = businessIdentifier(discharge.source, 'prescription', discharge.prescriptionId, 'careplan');
  const carePlans = await ehr.search('CarePlan', { identifier: searchToken(carePlanId) }, signal);
  if (!carePlans.ok) return { kind: 'failed', failure: carePlans.failure };
  const carePlan = only<CarePlan>(carePlans.result, 'CarePlan');

  const window = stayWindow(prescription, discharge.dischargedAt);
  const until = `le${window.until}`;
  const sessions = await ehr.search(
    'Procedure',
    { 'based-on': `ServiceRequest/${prescription.id}`, date: [until] },
    signal,
  );
  if (!sessions.ok) return { kind: 'failed', failure: sessions.failure };

  const { from } = window;
  const observations = await ehr.search(
    'Observation',
    {
      subject: patientReference,
      _profile: FITNESS_RESULT_PROFILES.join(','),
      date: from === undefined ? [until] : [`ge${from}`, until],
    },
    signal,
  );
  if (!observations.ok) return { kind: 'failed', failure: observations.failure };

  return {
    kind: 'facts',
    patientReference,
    timeline: [],
    facts: {
      discharge,
      frisklivssentral: input.frisklivssentral,
      hospitalContact: hospitalContactFor(discharge, input.hospitalContact),
      prescription,
      ...(carePlan === undefined ? {} : { carePlan }),
      observations: ofType<Observation>(observations.result, 'Observation'),
      sessions: ofType<Procedure>(sessions.result, 'Procedure').filter((p) =>
        (p.meta?.profile ?? []).includes(HIT_SESSION_PROFILES.procedure),
      ),
      generatedAt: input.generatedAt,
    },
  };
}

function ofType<T extends FhirResource>(resources: readonly FhirResource[], type: T['resourceType']): T[] {
  return resources.filter((r): r is T => r.resourceType === type);
}

/** The one match; a search by business identifier finding several is the EHR's duplicate, first one taken. */
function only<T extends FhirResource>(resources: readonly FhirResource[], type: T['resourceType']): T | undefined {
  return ofType<T>(resources, type)[0];
}
