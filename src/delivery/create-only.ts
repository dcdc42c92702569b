/**
 * Delivery to an EHR that takes creates and nothing else (the dips-arena profile: DIPS Arena
 * declares no update, no patch and no conditional create for Procedure; docs/reference/dips.md §1).
 * Each entry of the shaped Bundle is looked for by its business identifier first and created
 * only when the search finds none, so a redelivery (a worker killed after the EHR answered)
 * creates nothing new; the store already answers a repost of the same input with the submission
 * it has. Never a PUT or a PATCH.
 *
 * The search and the create are two calls, not one transaction: two workers delivering the same
 * submission at once could both create. The store's lease gives a submission to one worker at a
 * time, which is what makes that window close in practice.
 */
import type { Bundle, FhirResource, Identifier } from 'fhir/r4.js';
import { identifierSearch } from '../../mappings/dips-arena.ts';
import type { Ehr, EhrEntryResult, TransactionOutcome } from './ehr.ts';

export async function createOnlyOnce(ehr: Ehr, bundle: Bundle, signal?: AbortSignal): Promise<TransactionOutcome> {
  const entries: EhrEntryResult[] = [];
  for (const entry of bundle.entry ?? []) {
    const resource = entry.resource as (FhirResource & { identifier?: Identifier[] }) | undefined;
    const identifier = resource?.identifier?.[0];
    if (resource === undefined || identifier === undefined) {
      throw new Error('a create-only entry without a resource and its business identifier');
    }
    const found = await ehr.search(resource.resourceType, identifierSearch(identifier), signal);
    if (!found.ok) return found;
    const existing = found.result.find((match) => match.resourceType === resource.resourceType);
    if (existing !== undefined) {
      entries.push({ status: '200 OK', location: locationOf(resource.resourceType, existing.id) });
      continue;
    }
    const created = await ehr.create(resource, undefined, signal);
    if (!created.ok) return created;
    entries.push({ status: '201 Created', location: locationOf(resource.resourceType, created.result.id) });
  }
  return { ok: true, result: { httpStatus: entries.some((e) => e.status.startsWith('201')) ? 201 : 200, entries } };
}

function locationOf(resourceType: string, id: string | undefined): string | undefined {
  return id === undefined ? undefined : `${resourceType}/${id}`;
}
