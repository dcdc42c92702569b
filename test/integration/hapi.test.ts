/**
 * What hit-bridge relies on from the EHR, shown against the real HAPI FHIR R4 JPA server the
 * harness started (test/peers/hapi.ts, base URL in EHR_BASE_URL): a transaction Bundle with a
 * conditional create on the business identifier is idempotent, and a StructureDefinition from
 * profiles/ uploaded to the server is enforced by $validate, naming the element that breaks it.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const PROFILE_ID = 'hit-training-procedure';
const PROFILE_URL = `https://hit-bridge.no/fhir/StructureDefinition/${PROFILE_ID}`;
const SESSION_SYSTEM = 'https://hit-bridge.no/fhir/sid/hit-session';
const FNR_SYSTEM = 'urn:oid:2.16.578.1.12.4.1.4.1';
const HPR_SYSTEM = 'urn:oid:2.16.578.1.12.4.1.4.4';
const NCMP_SYSTEM = 'urn:oid:2.16.578.1.12.4.1.1.7275';

jest.setTimeout(120_000);

interface Issue {
  severity: 'fatal' | 'error' | 'warning' | 'information';
  code: string;
  diagnostics?: string;
  expression?: string[];
  location?: string[];
}
interface OperationOutcome {
  resourceType: 'OperationOutcome';
  issue: Issue[];
}
interface SearchSet {
  resourceType: 'Bundle';
  total?: number;
  entry?: { resource: { resourceType: string; id: string } }[];
}
interface TransactionResponse {
  resourceType: 'Bundle';
  type: string;
  entry: { response: { status: string; location?: string } }[];
}
type Json = Record<string, unknown>;

function baseUrl(): string {
  const base = process.env.EHR_BASE_URL;
  if (base === undefined || base === '') {
    throw new Error('EHR_BASE_URL is not set: run these tests through test/peers/with-peers.ts (npm run test:peers)');
  }
  return base.replace(/\/+$/, '');
}

async function fhir(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${baseUrl()}/${path}`, {
    method,
    headers: { accept: 'application/fhir+json', 'content-type': 'application/fhir+json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(60_000),
  });
  return { status: response.status, body: await response.json() };
}

/**
 * A synthetic fødselsnummer (month + 80) with valid mod-11 check digits: DDMMYY + individual
 * number + k1 + k2. Individual numbers whose check digit would be 10 are skipped.
 */
function syntheticNationalId(): string {
  const k1Weights = [3, 7, 6, 1, 8, 9, 4, 5, 2];
  const k2Weights = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
  const checkDigit = (digits: number[], weights: number[]): number => {
    const sum = weights.reduce((acc, weight, i) => acc + weight * (digits[i] ?? 0), 0);
    const remainder = 11 - (sum % 11);
    return remainder === 11 ? 0 : remainder;
  };
  // 1 September 1985 (month 09 + 80 = 89), individual numbers 100–499 belong to 1900–1999.
  for (let individual = 100 + Math.floor(Math.random() * 300); individual < 500; individual++) {
    const digits = Array.from(`018985${String(individual)}`, Number);
    const k1 = checkDigit(digits, k1Weights);
    if (k1 === 10) continue;
    const k2 = checkDigit([...digits, k1], k2Weights);
    if (k2 === 10) continue;
    return [...digits, k1, k2].join('');
  }
  throw new Error('no valid synthetic national id found');
}

/** A Procedure that conforms to the hit-training-procedure profile. */
function trainingSession(sessionId: string): Json {
  return {
    resourceType: 'Procedure',
    meta: { profile: [PROFILE_URL] },
    identifier: [{ system: SESSION_SYSTEM, value: sessionId }],
    status: 'completed',
    code: {
      coding: [
        {
          system: NCMP_SYSTEM,
          code: 'OBAB00',
          display: 'Veiledet og instruert fysisk trening knyttet til motorikk og/eller kondisjon',
        },
      ],
    },
    // A logical reference by national id: the EHR owns the Patient, the bridge never creates one.
    subject: { identifier: { system: FNR_SYSTEM, value: syntheticNationalId() } },
    performedPeriod: { start: '2026-11-20T10:00:00+01:00', end: '2026-11-20T10:45:00+01:00' },
    performer: [{ actor: { identifier: { system: HPR_SYSTEM, value: '9144900' } } }],
  };
}

function errors(outcome: OperationOutcome): Issue[] {
  return outcome.issue.filter((issue) => issue.severity === 'error' || issue.severity === 'fatal');
}

/** Everything an issue says about where it is: expression, location and diagnostics. */
function whereAndWhat(issue: Issue): string {
  return [...(issue.expression ?? []), ...(issue.location ?? []), issue.diagnostics ?? ''].join(' ');
}

async function validate(resource: Json, profile?: string): Promise<OperationOutcome> {
  const query = profile === undefined ? '' : `?${new URLSearchParams({ profile }).toString()}`;
  const { status, body } = await fhir('POST', `Procedure/$validate${query}`, resource);
  const outcome = body as OperationOutcome;
  // $validate answers 200 whatever the verdict; the verdict is in the OperationOutcome.
  expect(status).toBe(200);
  expect(outcome.resourceType).toBe('OperationOutcome');
  return outcome;
}

describe('HAPI FHIR R4 JPA server (real, from test/peers)', () => {
  // The profile the Procedures declare is on the server before anything is written or validated
  // (a server may enforce stored profiles on write).
  beforeAll(async () => {
    const profile = JSON.parse(
      readFileSync(join(process.cwd(), 'profiles', `StructureDefinition-${PROFILE_ID}.json`), 'utf8'),
    ) as Json;
    const { status } = await fhir('PUT', `StructureDefinition/${PROFILE_ID}`, profile);
    expect([200, 201]).toContain(status);
    const stored = (await fhir('GET', `StructureDefinition/${PROFILE_ID}`)).body as Json;
    expect(stored.url).toBe(PROFILE_URL);
  });

  test('a transaction that conditionally creates a Procedure on its identifier, posted twice, leaves exactly one Procedure', async () => {
    const sessionId = randomUUID();
    const transaction = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: `urn:uuid:${randomUUID()}`,
          resource: trainingSession(sessionId),
          request: {
            method: 'POST',
            url: 'Procedure',
            ifNoneExist: new URLSearchParams({ identifier: `${SESSION_SYSTEM}|${sessionId}` }).toString(),
          },
        },
      ],
    };

    const first = await fhir('POST', '', transaction);
    expect(first.status).toBe(200);
    const created = first.body as TransactionResponse;
    expect(created.type).toBe('transaction-response');
    expect(created.entry[0]?.response.status).toMatch(/^201/);

    const second = await fhir('POST', '', transaction);
    expect(second.status).toBe(200);
    const matched = second.body as TransactionResponse;
    // The conditional create found the first Procedure and created nothing.
    expect(matched.entry[0]?.response.status).toMatch(/^200/);
    expect(matched.entry[0]?.response.location).toBe(created.entry[0]?.response.location);

    const query = new URLSearchParams({ identifier: `${SESSION_SYSTEM}|${sessionId}` });
    const found = await fhir('GET', `Procedure?${query.toString()}`);
    expect(found.status).toBe(200);
    const searchSet = found.body as SearchSet;
    expect(searchSet.total).toBe(1);
    expect(searchSet.entry?.map((entry) => entry.resource.resourceType)).toEqual(['Procedure']);
  });

  describe('with the hit-training-procedure profile from profiles/ loaded into the server (PUT by id)', () => {
    test('a conforming Procedure passes $validate with no error-severity issues', async () => {
      const outcome = await validate(trainingSession(randomUUID()));
      expect(errors(outcome)).toEqual([]);
    });

    test('a conforming Procedure also passes $validate when the profile is named in ?profile=', async () => {
      const session = trainingSession(randomUUID());
      delete session.meta;
      const outcome = await validate(session, PROFILE_URL);
      expect(errors(outcome)).toEqual([]);
    });

    test('$validate rejects a Procedure without a performer, naming Procedure.performer', async () => {
      const session = trainingSession(randomUUID());
      delete session.performer;
      const outcome = await validate(session);
      const found = errors(outcome).map(whereAndWhat);
      expect(found.some((text) => text.includes('Procedure.performer'))).toBe(true);
    });

    test('$validate rejects a Procedure coded with something other than OBAB00, naming Procedure.code', async () => {
      const session = trainingSession(randomUUID());
      session.code = { coding: [{ system: NCMP_SYSTEM, code: 'OBAB01' }] };
      const outcome = await validate(session);
      const found = errors(outcome).map(whereAndWhat);
      expect(found.some((text) => text.includes('Procedure.code'))).toBe(true);
      expect(found.some((text) => text.includes('OBAB00'))).toBe(true);
    });

    test('$validate with ?profile= checks a Procedure that declares no profile', async () => {
      const session = trainingSession(randomUUID());
      delete session.meta;
      delete session.performer;
      expect(errors(await validate(session))).toEqual([]);
      const outcome = await validate(session, PROFILE_URL);
      expect(
        errors(outcome)
          .map(whereAndWhat)
          .some((text) => text.includes('Procedure.performer')),
      ).toBe(true);
    });
  });
});
