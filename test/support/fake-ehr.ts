/**
 * The Ehr port in memory, for unit tests of the code that reads from and writes to the EHR (the
 * handover). It keeps what a FHIR server keeps, as far as hit-bridge relies on it:
 *
 * - conditional creates (a transaction entry's `ifNoneExist`, or create()'s): "200 OK" with the
 *   existing resource when one matches, "201 Created" otherwise — so "created once" is observable;
 * - urn:uuid references inside a transaction, and conditional references ("Type?identifier=…")
 *   to held resources, become "Type/id" as the server resolves them;
 * - PUT Type/id replaces.
 *
 * Searches match `identifier` (system|value), `based-on`, `subject` and `_profile` (a comma is
 * "or"); `date` is NOT applied — the tests read the parameters asked (`calls`) instead. Every call
 * is recorded; failNext() makes the next calls of a method answer with a failure, as the real
 * adapter does (never a throw).
 */
import type { Bundle, BundleEntry, FhirResource, Identifier, Patient } from 'fhir/r4.js';
import type {
  CreateResult,
  Ehr,
  EhrFailure,
  Outcome,
  SearchParams,
  TransactionOutcome,
} from '../../src/delivery/ehr.ts';
import { parseNationalId } from '../../src/domain/national-id.ts';
import { cohortBundles, storeLikeEhr } from './ehr-view.ts';
import type { HandoverCohort } from './handover-cohort.ts';

export type Held = FhirResource & { id: string };

export type EhrCall =
  | { readonly method: 'search'; readonly resourceType: string; readonly params: SearchParams }
  | { readonly method: 'transaction'; readonly bundle: Bundle }
  | { readonly method: 'create'; readonly resource: FhirResource; readonly ifNoneExist: string | undefined };

export interface FakeEhr extends Ehr {
  /** Everything it holds, in the order it got it. */
  readonly resources: readonly Held[];
  readonly calls: readonly EhrCall[];
  /** Adds resources as they are (each must have an id): what arrived by other ways. */
  hold(resources: readonly FhirResource[]): void;
  /** The next `times` calls of `method` answer with `failure`. */
  failNext(method: EhrCall['method'], failure: EhrFailure, times?: number): void;
  /** Held resources of a type whose identifiers include this one. */
  withIdentifier(resourceType: string, identifier: Identifier): Held[];
}

export const TRANSIENT: EhrFailure = {
  retriable: true,
  httpStatus: 503,
  message: 'The EHR is busy (fake)',
  operationOutcome: undefined,
  retryAfterMs: undefined,
};

export const REFUSED: EhrFailure = {
  retriable: false,
  httpStatus: 400,
  message: 'Unknown search parameter (fake)',
  operationOutcome: undefined,
  retryAfterMs: undefined,
};

const identifiersOf = (resource: FhirResource): readonly Identifier[] =>
  (resource as { identifier?: Identifier[] }).identifier ?? [];

const referencesOf = (value: unknown): string[] => {
  if (value === undefined) return [];
  const list = Array.isArray(value) ? (value as unknown[]) : [value];
  return list.flatMap((item) => {
    const reference = (item as { reference?: unknown } | null)?.reference;
    return typeof reference === 'string' ? [reference] : [];
  });
};

export function createFakeEhr(initial: readonly FhirResource[] = []): FakeEhr {
  const resources: Held[] = [];
  const calls: EhrCall[] = [];
  const failures = new Map<EhrCall['method'], EhrFailure[]>();
  let next = 1000;

  const hold = (list: readonly FhirResource[]): void => {
    for (const resource of list) {
      if (resource.id === undefined) throw new Error(`a held ${resource.resourceType} needs an id`);
      // New ids never clash with the held ones.
      if (/^\d+$/.test(resource.id)) next = Math.max(next, Number(resource.id));
      resources.push(structuredClone(resource) as Held);
    }
  };
  hold(initial);

  const matchesToken = (resource: FhirResource, token: string): boolean => {
    const [system, value] = token.includes('|') ? token.split('|', 2) : [undefined, token];
    return identifiersOf(resource).some(
      (identifier) => identifier.value === value && (system === undefined || identifier.system === system),
    );
  };
  const byToken = (resourceType: string, token: string): Held | undefined =>
    resources.find((r) => r.resourceType === resourceType && matchesToken(r, token));

  const failure = (method: EhrCall['method']): EhrFailure | undefined => failures.get(method)?.shift();

  /** Rewrites references as a server resolves them: urn:uuid within the Bundle, and conditional ones. */
  const resolve = (value: unknown, fullUrls: ReadonlyMap<string, string>): void => {
    if (Array.isArray(value)) {
      for (const item of value) resolve(item, fullUrls);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const object = value as Record<string, unknown>;
    for (const child of Object.values(object)) resolve(child, fullUrls);
    const reference = object.reference;
    if (typeof reference !== 'string') return;
    const local = fullUrls.get(reference);
    if (local !== undefined) {
      object.reference = local;
      return;
    }
    const conditional = /^([A-Za-z]+)\?identifier=(.+)$/.exec(reference);
    if (conditional?.[1] !== undefined && conditional[2] !== undefined) {
      const found = byToken(conditional[1], conditional[2]);
      if (found !== undefined) object.reference = `${found.resourceType}/${found.id}`;
    }
  };

  /** A conditional create: the existing match, or the resource stored under a new id. */
  const createOnce = (resource: FhirResource, ifNoneExist: string | undefined): { held: Held; created: boolean } => {
    const token = ifNoneExist === undefined ? undefined : /^identifier=(.+)$/.exec(ifNoneExist)?.[1];
    const existing = token === undefined ? undefined : byToken(resource.resourceType, token);
    if (existing !== undefined) return { held: existing, created: false };
    next += 1;
    const held: Held = { ...structuredClone(resource), id: String(next) };
    resources.push(held);
    return { held, created: true };
  };

  const search = (resourceType: string, params: SearchParams): Held[] =>
    resources.filter((resource) => {
      if (resource.resourceType !== resourceType) return false;
      const record = resource as unknown as Record<string, unknown>;
      for (const [name, raw] of Object.entries(params)) {
        const value = typeof raw === 'string' ? raw : raw.join(',');
        if (name === 'identifier' && !matchesToken(resource, value)) return false;
        if (name === 'based-on' && !referencesOf(record.basedOn).includes(value)) return false;
        if (name === 'subject' && !referencesOf(record.subject).includes(value)) return false;
        if (name === '_profile') {
          const profiles = resource.meta?.profile ?? [];
          if (!value.split(',').some((profile) => profiles.includes(profile))) return false;
        }
      }
      return true;
    });

  return {
    resources,
    calls,
    hold,
    failNext(method, answer, times = 1) {
      const list = failures.get(method) ?? [];
      for (let i = 0; i < times; i += 1) list.push(answer);
      failures.set(method, list);
    },
    withIdentifier: (resourceType, identifier) =>
      resources.filter(
        (r) =>
          r.resourceType === resourceType &&
          identifiersOf(r).some((i) => i.system === identifier.system && i.value === identifier.value),
      ),

    search(resourceType, params): Promise<Outcome<FhirResource[]>> {
      calls.push({ method: 'search', resourceType, params });
      const failed = failure('search');
      if (failed !== undefined) return Promise.resolve({ ok: false, failure: failed });
      return Promise.resolve({ ok: true, result: structuredClone(search(resourceType, params)) });
    },

    transaction(bundle): Promise<TransactionOutcome> {
      calls.push({ method: 'transaction', bundle: structuredClone(bundle) });
      const failed = failure('transaction');
      if (failed !== undefined) return Promise.resolve({ ok: false, failure: failed });
      const entries: BundleEntry[] = structuredClone(bundle.entry ?? []);
      // First the creates, so the Bundle's own urn:uuid references can be resolved to their ids.
      const fullUrls = new Map<string, string>();
      const outcomes = entries.map((entry) => {
        const resource = entry.resource;
        if (resource === undefined) throw new Error('a transaction entry without a resource');
        if (entry.request?.method === 'PUT') {
          const [type, id = ''] = entry.request.url.split('/');
          const index = resources.findIndex((r) => r.resourceType === type && r.id === id);
          const held: Held = { ...resource, id };
          if (index >= 0) resources[index] = held;
          else resources.push(held);
          return { held, status: index >= 0 ? '200 OK' : '201 Created', created: index < 0 };
        }
        const { held, created } = createOnce(resource, entry.request?.ifNoneExist);
        if (entry.fullUrl !== undefined) fullUrls.set(entry.fullUrl, `${held.resourceType}/${held.id}`);
        return { held, status: created ? '201 Created' : '200 OK', created };
      });
      for (const outcome of outcomes) if (outcome.created) resolve(outcome.held, fullUrls);
      return Promise.resolve({
        ok: true,
        result: {
          httpStatus: 200,
          entries: outcomes.map(({ held, status }) => ({
            status,
            location: `${held.resourceType}/${held.id}/_history/1`,
          })),
        },
      });
    },

    create(resource, ifNoneExist): Promise<Outcome<CreateResult>> {
      calls.push({ method: 'create', resource: structuredClone(resource), ifNoneExist });
      const failed = failure('create');
      if (failed !== undefined) return Promise.resolve({ ok: false, failure: failed });
      const { held, created } = createOnce(resource, ifNoneExist);
      return Promise.resolve({ ok: true, result: { httpStatus: created ? 201 : 200, id: held.id } });
    },

    ping: () => Promise.resolve(),
  };
}

/**
 * What an EHR holds after a cohort's stay went through our mappings: its Patient (the EHR's own,
 * id "ehr-patient-1" as storeLikeEhr resolves it), the prescription's resources (ServiceRequest,
 * CarePlan), and the rest (sessions, fitness tests), kept apart so a test can hold back the
 * prescription.
 */
export function cohortInEhr(cohort: HandoverCohort): {
  readonly patient: Patient & { id: string };
  readonly prescription: readonly FhirResource[];
  readonly stay: readonly FhirResource[];
} {
  const parsed = parseNationalId(cohort.discharge.patient.nationalId);
  if (!parsed.ok) throw new Error(`cohort national id invalid: ${parsed.reason}`);
  const bundles = cohortBundles(cohort);
  const stored = storeLikeEhr(bundles);
  const prescriptionCount = bundles[0]?.entry?.length ?? 0;
  return {
    patient: {
      resourceType: 'Patient',
      id: 'ehr-patient-1',
      identifier: [{ system: parsed.value.identifierSystem, value: cohort.discharge.patient.nationalId }],
    },
    prescription: stored.slice(0, prescriptionCount),
    stay: stored.slice(prescriptionCount),
  };
}
