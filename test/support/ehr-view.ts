/**
 * What the EHR holds after our transaction Bundles were posted, without a server: each resource
 * gets a server id, conditional references ("Patient?identifier=…") and urn:uuid references
 * become "Type/id" as a FHIR server resolves them, and each reference keeps its identifier (HAPI
 * keeps Reference.identifier too). The unit tests feed the packet builders with this, so they
 * read the same shapes the handover worker will find by FHIR search. The integration test does
 * the same against the real HAPI.
 */
import type { Bundle, CarePlan, FhirResource, Observation, Procedure, ServiceRequest } from 'fhir/r4.js';
import { DEFAULT_MAPPING_OPTIONS } from '../../mappings/common.ts';
import { mappers } from '../../mappings/registry.ts';
import type { HandoverFacts } from '../../src/handover/types.ts';
import type { HandoverCohort } from './handover-cohort.ts';

type Stored = FhirResource & { id: string; identifier?: { system?: string; value?: string }[] };

export function storeLikeEhr(bundles: readonly Bundle[]): Stored[] {
  const stored: Stored[] = [];
  const byFullUrl = new Map<string, string>();
  const byIdentifier = new Map<string, string>();
  let next = 1;
  for (const bundle of bundles) {
    for (const entry of bundle.entry ?? []) {
      const resource = structuredClone(entry.resource) as Stored;
      resource.id = String(next);
      next += 1;
      const address = `${resource.resourceType}/${resource.id}`;
      if (entry.fullUrl !== undefined) byFullUrl.set(entry.fullUrl, address);
      for (const identifier of resource.identifier ?? []) {
        byIdentifier.set(
          `${resource.resourceType}?identifier=${identifier.system ?? ''}|${identifier.value ?? ''}`,
          address,
        );
      }
      stored.push(resource);
    }
  }
  const resolve = (value: unknown): void => {
    if (Array.isArray(value)) {
      value.forEach(resolve);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const object = value as Record<string, unknown>;
    for (const child of Object.values(object)) resolve(child);
    const reference = object.reference;
    if (typeof reference !== 'string') return;
    const found = byFullUrl.get(reference) ?? byIdentifier.get(reference);
    if (found !== undefined) object.reference = found;
    // The EHR's own Patient and Practitioner: an id of theirs, as the server would answer.
    else if (reference.startsWith('Patient?')) object.reference = 'Patient/ehr-patient-1';
    else if (reference.startsWith('Practitioner?')) object.reference = 'Practitioner/ehr-practitioner-1';
  };
  stored.forEach(resolve);
  return stored;
}

/** The clinic inputs of a cohort as our mappings turn them into transaction Bundles. */
export function cohortBundles(cohort: HandoverCohort): Bundle[] {
  return [
    mappers.prescriptions(cohort.prescription, DEFAULT_MAPPING_OPTIONS),
    ...cohort.fitnessTests.map((test) => mappers['fitness-tests'](test, DEFAULT_MAPPING_OPTIONS)),
    ...cohort.sessions.map((session) => mappers['hit-sessions'](session, DEFAULT_MAPPING_OPTIONS)),
  ];
}

/** The facts the handover worker would gather for a cohort, from the mapped and stored inputs. */
export function factsFor(cohort: HandoverCohort): HandoverFacts {
  return factsFromStored(cohort, storeLikeEhr(cohortBundles(cohort)));
}

/** The facts from what an EHR holds (simulated above, or read back from a real server). */
export function factsFromStored(cohort: HandoverCohort, stored: readonly FhirResource[]): HandoverFacts {
  const valueOf = (r: FhirResource): string =>
    ((r as { identifier?: { value?: string }[] }).identifier ?? [])[0]?.value ?? '';
  const prescriptionValue = `prescription/${cohort.prescription.prescriptionId}`;
  const prescription = stored.find(
    (r): r is ServiceRequest => r.resourceType === 'ServiceRequest' && valueOf(r) === prescriptionValue,
  );
  if (prescription === undefined) throw new Error('the mapped prescription has no ServiceRequest');
  const carePlan = stored.find((r): r is CarePlan => r.resourceType === 'CarePlan');
  const testValues = cohort.fitnessTests.map((test) => `fitness-test/${test.testId}/`);
  return {
    discharge: cohort.discharge,
    frisklivssentral: cohort.frisklivssentral,
    hospitalContact: cohort.hospitalContact,
    prescription,
    ...(carePlan === undefined ? {} : { carePlan }),
    observations: stored.filter(
      (r): r is Observation => r.resourceType === 'Observation' && testValues.some((v) => valueOf(r).startsWith(v)),
    ),
    sessions: stored.filter((r): r is Procedure => r.resourceType === 'Procedure'),
    generatedAt: cohort.generatedAt,
  };
}
