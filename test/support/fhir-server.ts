/** A few plain FHIR REST calls for tests that talk to the real HAPI FHIR server. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, BundleEntry, FhirResource, OperationOutcome } from 'fhir/r4.js';
import { IDENTIFIER_SYSTEMS } from '../../mappings/terminology.ts';
import { parseNationalId } from '../../src/domain/national-id.ts';

export interface FhirResponse<T = unknown> {
  readonly status: number;
  readonly body: T;
}

export async function fhir<T = unknown>(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<FhirResponse<T>> {
  const response = await fetch(`${baseUrl.replace(/\/$/, '')}/${path}`, {
    method,
    headers: {
      accept: 'application/fhir+json',
      ...(body === undefined ? {} : { 'content-type': 'application/fhir+json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
}

/** Loads every StructureDefinition and CodeSystem in profiles/ into the server (PUT by id: repeatable). */
export async function loadProfiles(baseUrl: string, dir = 'profiles'): Promise<string[]> {
  const files = readdirSync(dir).filter((file) => /^(StructureDefinition|CodeSystem|ValueSet)-.+\.json$/.test(file));
  const loaded: string[] = [];
  // CodeSystems and ValueSets first: profiles may bind to them.
  for (const file of files.sort(
    (a, b) => Number(a.startsWith('StructureDefinition')) - Number(b.startsWith('StructureDefinition')),
  )) {
    const resource = JSON.parse(readFileSync(join(dir, file), 'utf8')) as FhirResource & { id: string };
    const result = await fhir<OperationOutcome>(baseUrl, 'PUT', `${resource.resourceType}/${resource.id}`, resource);
    if (result.status >= 300)
      throw new Error(`loading ${file} failed (${result.status}): ${JSON.stringify(result.body)}`);
    loaded.push(file);
  }
  return loaded;
}

/** The errors $validate finds in a resource against a profile (none: an empty list). */
export async function validationErrors(baseUrl: string, resource: FhirResource, profile: string): Promise<string[]> {
  const query = new URLSearchParams({ profile });
  const result = await fhir<OperationOutcome>(
    baseUrl,
    'POST',
    `${resource.resourceType}/$validate?${query.toString()}`,
    resource,
  );
  return errorsOf(result.body);
}

/** Error-severity issues of an OperationOutcome, as readable lines. */
export function errorsOf(outcome: OperationOutcome): string[] {
  return outcome.issue
    .filter((issue) => issue.severity === 'error' || issue.severity === 'fatal')
    .map(
      (issue) =>
        `${(issue.expression ?? issue.location ?? []).join(',')}: ${issue.diagnostics ?? issue.details?.text ?? issue.code}`,
    );
}

export async function countByIdentifier(
  baseUrl: string,
  resourceType: string,
  system: string,
  value: string,
): Promise<number> {
  const query = new URLSearchParams({ identifier: `${system}|${value}`, _summary: 'count' });
  const result = await fhir<Bundle>(baseUrl, 'GET', `${resourceType}?${query.toString()}`);
  if (result.status !== 200) throw new Error(`search ${resourceType} failed (${result.status})`);
  return result.body.total ?? 0;
}

/** What the EHR would already hold: the patient and the health professional, created once. */
export async function registerPeople(base: string, nationalId: string, hprNumbers: readonly string[]): Promise<void> {
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
