/**
 * The store adapter of the facts source, for the EHR profile `dips-arena`
 * (docs/adr/0028-handover-facts-from-the-store-under-dips-arena.md). DIPS holds one Procedure per
 * session without `basedOn`, and no prescription, per-interval Observation or fitness test
 * (docs/adr/0021-dips-arena-profile.md), so the handover reads the inputs hit-bridge accepted and
 * kept, and runs them through the same generic mappings that make the EHR's resources under
 * `generic` — the packets are built from the same resources either way.
 *
 * 1. the prescription: the discharge's source and prescriptionId (input ids are unique per source
 *    and kind); not accepted yet is "not yet", as the EHR's "not there yet" is;
 * 2. the sessions: the patient's sessions naming that prescription (from the same source, as the
 *    mapping's `basedOn` names it), started by the discharge;
 * 3. the fitness tests: the patient's results over the stay (stayWindow), from any source, as the
 *    EHR search by subject finds them.
 *
 * Records are read by patient key, accepted from the window's first day on: a record is accepted
 * after it happened, so none inside the window is missed (and a session of this prescription
 * accepted before its baseline window is not one). Retention may have erased a record's content
 * before the discharge; then no plan is made from what is left (it would misstate attendance and
 * results) — the handover says what was erased, when, and ends.
 */
import type { Bundle, CarePlan, FhirResource, Observation, Procedure, ServiceRequest } from 'fhir/r4.js';
import { businessIdentifier, DEFAULT_MAPPING_OPTIONS, patientReference } from '../../mappings/common.ts';
import { HIT_SESSION_PROFILES } from '../../mappings/hit-session.ts';
import type { FitnessTestInput, HitSessionInput, PrescriptionInput } from '../../mappings/inputs.ts';
import { mappers } from '../../mappings/registry.ts';
import type { PatientKeyer } from '../events/patient-key.ts';
import { RECORD_KINDS } from '../kinds/kinds.ts';
import type { Store, Submission } from '../store/store.ts';
import {
  FITNESS_RESULT_PROFILES,
  hospitalContactFor,
  stayWindow,
  type FactsSource,
  type GatherInput,
  type Gathered,
} from './facts-source.ts';

const STORE_ORIGIN = "hit-bridge's store";

/** The records of a stay besides its prescription: the sessions and the fitness tests. */
const STAY_RECORDS = RECORD_KINDS.filter((kind) => kind !== 'prescriptions');

export interface StoreFactsDeps {
  readonly store: Pick<Store, 'findSubmission' | 'patientSubmissions'>;
  readonly patientKey: PatientKeyer;
}

export function storeFactsSource(deps: StoreFactsDeps): FactsSource {
  return { origin: STORE_ORIGIN, gather: (input) => gatherFromStore(deps, input) };
}

async function gatherFromStore(deps: StoreFactsDeps, input: GatherInput): Promise<Gathered> {
  const { discharge } = input;
  const key = deps.patientKey(discharge.patient.nationalId);
  const rx = `prescription ${discharge.prescriptionId} from ${discharge.source}`;

  const held = await deps.store.findSubmission(discharge.source, 'prescriptions', discharge.prescriptionId);
  if (held === undefined) return { kind: 'not-yet', reason: `hit-bridge has not accepted the ${rx} yet` };
  // The same source and id but another patient: a packet would carry one person's plan to another's municipality.
  if (held.patientKey !== key) {
    return { kind: 'unavailable', reason: `the ${rx} is for another patient than the discharge` };
  }
  if (held.body === null) return { kind: 'unavailable', reason: erasedWords([held], rx) };
  const prescriptionBundle = mappers.prescriptions(held.body as PrescriptionInput, DEFAULT_MAPPING_OPTIONS);
  const prescription = withIdentifier<ServiceRequest>(
    prescriptionBundle,
    'ServiceRequest',
    businessIdentifier(discharge.source, 'prescription', discharge.prescriptionId).value,
  );
  // The mapping makes one for every prescription; without it the mapping is broken, not the input.
  if (prescription === undefined) throw new Error('the prescription mapping made no ServiceRequest');
  const carePlan = withIdentifier<CarePlan>(
    prescriptionBundle,
    'CarePlan',
    businessIdentifier(discharge.source, 'prescription', discharge.prescriptionId, 'careplan').value,
  );

  const window = stayWindow(prescription, discharge.dischargedAt);
  const since = window.from === undefined ? new Date(0) : new Date(`${window.from}T00:00:00Z`);
  const records = await deps.store.patientSubmissions(key, STAY_RECORDS, since);
  const erased = records.filter((record) => record.body === null);
  if (erased.length > 0) return { kind: 'unavailable', reason: erasedWords(erased, rx) };

  const sessionRecords = records.filter(
    (record) =>
      record.kind === 'hit-sessions' &&
      record.source === discharge.source &&
      (record.body as HitSessionInput).prescriptionId === discharge.prescriptionId,
  );
  const sessions = sessionRecords
    .flatMap((record) => resourcesOf(mappers['hit-sessions'](record.body as HitSessionInput, DEFAULT_MAPPING_OPTIONS)))
    .filter(
      (r): r is Procedure =>
        r.resourceType === 'Procedure' &&
        (r.meta?.profile ?? []).includes(HIT_SESSION_PROFILES.procedure) &&
        startsBy(r.performedPeriod?.start ?? r.performedDateTime, window.until),
    );
  const testRecords = records.filter((record) => record.kind === 'fitness-tests');
  const observations = testRecords
    .flatMap((record) =>
      resourcesOf(mappers['fitness-tests'](record.body as FitnessTestInput, DEFAULT_MAPPING_OPTIONS)),
    )
    .filter(
      (r): r is Observation =>
        r.resourceType === 'Observation' &&
        (r.meta?.profile ?? []).some((profile) => FITNESS_RESULT_PROFILES.includes(profile)) &&
        withinWindow(r, window),
    );

  const usedTests = new Set(observations.map((o) => o.identifier?.[0]?.value?.split('/')[1]));
  const tests = testRecords.filter((record) => usedTests.has(record.inputId));
  return {
    kind: 'facts',
    patientReference: patientReference(discharge.patient.nationalId).reference ?? '',
    timeline: [
      {
        at: new Date(input.generatedAt),
        kind: 'note',
        message:
          `Facts read from ${STORE_ORIGIN} (EHR_PROFILE=dips-arena: DIPS Arena holds no prescription, fitness test or ` +
          `link from a session to its prescription): the ${rx}, ${String(sessions.length)} training session(s), ` +
          `${String(tests.length)} fitness test(s).`,
        detail: {
          factsFrom: 'store',
          prescription: held.id,
          sessions: sessionRecords.filter((r) => sessions.some((p) => sessionOf(p) === r.inputId)).map((r) => r.id),
          fitnessTests: tests.map((r) => r.id),
        },
      },
    ],
    facts: {
      discharge,
      frisklivssentral: input.frisklivssentral,
      hospitalContact: hospitalContactFor(discharge, input.hospitalContact),
      prescription,
      ...(carePlan === undefined ? {} : { carePlan }),
      observations,
      sessions,
      generatedAt: input.generatedAt,
    },
  };
}

/** What retention took, for the timeline: which kinds, how many, when — and why nothing is sent. */
function erasedWords(erased: readonly Submission[], rx: string): string {
  const count = (kind: Submission['kind']): number => erased.filter((record) => record.kind === kind).length;
  const parts = [
    count('prescriptions') > 0 ? `the ${rx}` : undefined,
    count('hit-sessions') > 0 ? `${String(count('hit-sessions'))} training session record(s)` : undefined,
    count('fitness-tests') > 0 ? `${String(count('fitness-tests'))} fitness test record(s)` : undefined,
  ].filter((part): part is string => part !== undefined);
  const dates = erased.flatMap((record) => (record.bodyErasedAt === undefined ? [] : [record.bodyErasedAt.getTime()]));
  const when = dates.length === 0 ? '' : ` on ${new Date(Math.min(...dates)).toISOString().slice(0, 10)}`;
  return (
    `retention erased the content of ${parts.join(' and ')} of this stay${when}, before the discharge; ` +
    `under EHR_PROFILE=dips-arena ${STORE_ORIGIN} is the only copy, and a plan from what is left would misstate ` +
    'the prescription, attendance or results, so no packets are made (RETENTION_DAYS must cover the baseline window and the whole stay)'
  );
}

function resourcesOf(bundle: Bundle): FhirResource[] {
  return (bundle.entry ?? []).flatMap((entry) => (entry.resource === undefined ? [] : [entry.resource]));
}

function withIdentifier<T extends FhirResource>(bundle: Bundle, type: T['resourceType'], value: string | undefined) {
  return resourcesOf(bundle).find(
    (r): r is T =>
      r.resourceType === type && (r as { identifier?: { value?: string }[] }).identifier?.[0]?.value === value,
  );
}

/** The session id in a Procedure's business identifier ("session/S-1"). */
function sessionOf(procedure: Procedure): string | undefined {
  return procedure.identifier?.[0]?.value?.split('/')[1];
}

/** FHIR's `date=le…` on a period: it started at or before the bound. */
function startsBy(start: string | undefined, until: string): boolean {
  return start !== undefined && Date.parse(start) <= Date.parse(until);
}

/** FHIR's `date=ge{from}&date=le{until}` on an Observation's effective time. */
function withinWindow(observation: Observation, window: ReturnType<typeof stayWindow>): boolean {
  const start = observation.effectiveDateTime ?? observation.effectivePeriod?.start;
  const end = observation.effectiveDateTime ?? observation.effectivePeriod?.end ?? start;
  if (start === undefined || end === undefined) return false;
  const fromOk = window.from === undefined || Date.parse(end) >= Date.parse(`${window.from}T00:00:00Z`);
  return fromOk && startsBy(start, window.until);
}
