/**
 * What the packets need, found in the EHR by FHIR search — never from hit-bridge's own copies of
 * the inputs: the EHR is the record, and what it holds (after its own resolution of references,
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
import { FITNESS_TEST_PROFILES } from '../../mappings/fitness-test.ts';
import { HIT_SESSION_PROFILES } from '../../mappings/hit-session.ts';
import type { DischargeInput } from '../../mappings/inputs.ts';
import { parseNationalId } from '../domain/national-id.ts';
import type { Ehr, EhrFailure } from '../delivery/ehr.ts';
import type { FrisklivssentralEntry, HandoverFacts } from './types.ts';

/**
 * How far before the prescription's start a fitness test still counts as this stay's baseline:
 * the test the prescription was written from is usually taken days to weeks before. UNCONFIRMED
 * (no source gives a window; docs/reference/fitness.md §4: a fitness test every 3 months), hence generous.
 */
export const BASELINE_LOOKBACK_DAYS = 92;

/** A fitness test's results; not HRmax, whose profile the sessions share (their estimates are no test). */
const FITNESS_RESULT_PROFILES = [
  FITNESS_TEST_PROFILES.panel,
  FITNESS_TEST_PROFILES.vo2max,
  FITNESS_TEST_PROFILES.fitnessAge,
  FITNESS_TEST_PROFILES.oneRepMax,
  FITNESS_TEST_PROFILES.sixMinuteWalk,
];

export type Gathered =
  | { readonly kind: 'facts'; readonly facts: HandoverFacts; readonly patientReference: string }
  /** The EHR does not have what the handover needs yet: ask again later. */
  | { readonly kind: 'not-yet'; readonly reason: string }
  | { readonly kind: 'failed'; readonly failure: EhrFailure };

export interface GatherInput {
  readonly discharge: DischargeInput;
  readonly frisklivssentral: FrisklivssentralEntry;
  /** The configured fallback; absent, the discharge gave its own (intake made sure). */
  readonly hospitalContact: HandoverFacts['hospitalContact'] | undefined;
  readonly generatedAt: string;
}

/** Names the hospital when only the discharge's own contact person is known. */
const DISCHARGING_HOSPITAL = 'Utskrivende sykehus';

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

  const until = `le${discharge.dischargedAt}`;
  const sessions = await ehr.search(
    'Procedure',
    { 'based-on': `ServiceRequest/${prescription.id}`, date: [until] },
    signal,
  );
  if (!sessions.ok) return { kind: 'failed', failure: sessions.failure };

  const start = prescription.occurrenceTiming?.repeat?.boundsPeriod?.start ?? prescription.authoredOn;
  const from = start === undefined ? undefined : addDays(start.slice(0, 10), -BASELINE_LOOKBACK_DAYS);
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

function hospitalContactFor(
  discharge: DischargeInput,
  fallback: HandoverFacts['hospitalContact'] | undefined,
): HandoverFacts['hospitalContact'] {
  if (discharge.hospitalContact !== undefined) {
    return { organisation: fallback?.organisation ?? DISCHARGING_HOSPITAL, ...discharge.hospitalContact };
  }
  if (fallback === undefined) throw new Error('a discharge without a hospital contact and none configured');
  return fallback;
}

function ofType<T extends FhirResource>(resources: readonly FhirResource[], type: T['resourceType']): T[] {
  return resources.filter((r): r is T => r.resourceType === type);
}

/** The one match; a search by business identifier finding several is the EHR's duplicate, first one taken. */
function only<T extends FhirResource>(resources: readonly FhirResource[], type: T['resourceType']): T | undefined {
  return ofType<T>(resources, type)[0];
}

function addDays(isoDate: string, days: number): string {
  const date = new Date(`${isoDate}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}
