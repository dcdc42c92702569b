/**
 * One prescription fixture sent through a running hit-bridge and looked for in the EHR: what the
 * EHR-authentication suites do over and over (each run under a source of its own).
 */
import type { FhirResource } from 'fhir/r4.js';
import { DEFAULT_MAPPING_OPTIONS } from '../../mappings/common.ts';
import { mappers } from '../../mappings/registry.ts';
import type { Inputs } from '../../src/kinds/kinds.ts';
import { countByIdentifier, loadProfiles, registerPeople } from './fhir-server.ts';
import { fixtureCases, readInput } from './fixtures.ts';

const prescription = fixtureCases(['prescriptions'])[0];
if (prescription === undefined) throw new Error('no prescription fixture');
const fixtureInput = readInput(prescription) as Inputs['prescriptions'];

export interface StatusBody {
  status: string;
  timeline: { kind: string; message: string }[];
}

/** Loads the profiles and registers the fixture's patient and prescriber in the EHR. */
export async function prepareEhr(openEhr: string): Promise<void> {
  await loadProfiles(openEhr);
  const people = fixtureInput as unknown as { patient: { nationalId: string }; prescriber?: { hprNumber: string } };
  await registerPeople(
    openEhr,
    people.patient.nationalId,
    people.prescriber === undefined ? [] : [people.prescriber.hprNumber],
  );
}

/** POSTs the prescription under `source`; the submission id. */
export async function postPrescription(serviceUrl: string, source: string): Promise<string> {
  const response = await fetch(`${serviceUrl}/v1/prescriptions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...fixtureInput, source }),
  });
  if (response.status !== 202) throw new Error(`POST /v1/prescriptions answered ${response.status}`);
  return ((await response.json()) as { id: string }).id;
}

/** The submission's status once `until` holds (or as it is when the time is up). */
export async function waitForStatus(
  serviceUrl: string,
  id: string,
  until: (body: StatusBody) => boolean,
  timeoutMs = 90_000,
): Promise<StatusBody> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const body = (await (await fetch(`${serviceUrl}/v1/submissions/${id}`)).json()) as StatusBody;
    if (until(body) || Date.now() > deadline) return body;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export const delivered = (body: StatusBody): boolean => body.status !== 'accepted';

/** How many of the prescription's resources for this source the EHR holds, per business identifier. */
export async function prescriptionCountsInEhr(openEhr: string, source: string): Promise<number[]> {
  const bundle = mappers.prescriptions({ ...fixtureInput, source }, DEFAULT_MAPPING_OPTIONS);
  return Promise.all(
    (bundle.entry ?? []).map((entry) => {
      const resource = entry.resource as FhirResource & { identifier?: { system?: string; value?: string }[] };
      const identifier = resource.identifier?.[0];
      return countByIdentifier(openEhr, resource.resourceType, identifier?.system ?? '', identifier?.value ?? '');
    }),
  );
}
