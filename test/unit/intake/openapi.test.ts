// A lint of contracts/openapi.yaml: it parses, every operation answers something, every $ref
// resolves (inside the document and into contracts/schemas/), and the app serves what it
// documents — and the copy served at /openapi.json stands alone.
import { notFound } from '../../../src/platform/problem.ts';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_MAPPING_OPTIONS } from '../../../mappings/common.ts';
import { loadEventSchemas } from '../../../src/events/event-schemas.ts';
import { createEventValidator } from '../../../src/events/event-validator.ts';
import { createPatientKeyer } from '../../../src/events/patient-key.ts';
import { createApp } from '../../../src/intake/app.ts';
import { loadContracts, SCHEMA_FILES } from '../../../src/intake/contracts.ts';
import { scopeFor } from '../../../src/intake/scopes.ts';
import { createInputValidator } from '../../../src/contracts/input-validator.ts';
import { createLogger } from '../../../src/platform/logger.ts';
import { createMetrics } from '../../../src/platform/metrics.ts';
import { createSqliteStore } from '../../../src/store/sqlite-store.ts';
import { HIT_SESSION, NATIONAL_ID, variant, withWrongCheckDigit } from './examples.ts';
import { acknowledgeHandover } from '../../../src/handover/acknowledgements.ts';
import { RECORD_KINDS } from '../../../src/kinds/kinds.ts';

type Json = Record<string, unknown>;
const CONTRACTS = 'contracts';
const document = parseYaml(readFileSync(join(CONTRACTS, 'openapi.yaml'), 'utf8')) as Json;
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

const paths = document.paths as Record<string, Json>;
const operations = Object.entries(paths).flatMap(([path, item]) =>
  METHODS.filter((method) => method in item).map((method) => [path, method, item[method] as Json] as const),
);

function* refsIn(node: unknown, at = ''): Generator<[string, string]> {
  if (Array.isArray(node)) {
    for (const [i, item] of node.entries()) yield* refsIn(item, `${at}/${i}`);
  } else if (typeof node === 'object' && node !== null) {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') yield [at, value];
      else yield* refsIn(value, `${at}/${key}`);
    }
  }
}

/** The node a JSON Pointer fragment ("/a/b", without the "#") points at, or undefined. */
function resolvePointer(root: unknown, pointer: string): unknown {
  if (pointer === '') return root;
  let node = root;
  for (const raw of pointer.split('/').slice(1)) {
    const segment = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (typeof node !== 'object' || node === null || !(segment in node)) return undefined;
    node = (node as Json)[segment];
  }
  return node;
}

describe('contracts/openapi.yaml', () => {
  it('is OpenAPI 3.1 with a title and a version', () => {
    expect(document.openapi).toBe('3.1.0');
    expect(document.info).toMatchObject({ title: 'hit-bridge', version: expect.any(String) as unknown });
  });

  it.each(operations)('%s %s has an operationId, a summary and responses that each say what they are', (_p, _m, op) => {
    expect(typeof op.operationId).toBe('string');
    expect(typeof op.summary).toBe('string');
    const responses = op.responses as Record<string, Json>;
    expect(Object.keys(responses).length).toBeGreaterThan(0);
    for (const response of Object.values(responses)) {
      const resolved = typeof response.$ref === 'string' ? resolvePointer(document, response.$ref.slice(1)) : response;
      expect(typeof (resolved as Json | undefined)?.description).toBe('string');
    }
  });

  it('names for every /v1 operation the scope the service demands (scopes.ts), and no token for the rest', () => {
    for (const [path, , op] of operations) {
      const concrete = path.replace(/\{[^}]+\}/g, 'x');
      if (path.startsWith('/v1/')) {
        expect([path, op.security]).toEqual([path, [{ bearerAuth: [scopeFor(concrete)] }]]);
        const responses = op.responses as Record<string, unknown>;
        expect([path, Object.keys(responses)]).toEqual([path, expect.arrayContaining(['401', '403', '429'])]);
      } else {
        expect([path, op.security]).toEqual([path, []]);
      }
    }
  });

  it('gives request examples that intake accepts (schemathesis sends them first, so they must be valid)', () => {
    const validator = createInputValidator(loadContracts().schemas);
    const kindOf = Object.fromEntries(Object.entries(SCHEMA_FILES).map(([kind, file]) => [`schemas/${file}`, kind]));
    let checked = 0;
    for (const [path, method, op] of operations) {
      const media = (op.requestBody as { content?: Record<string, { schema?: Json; example?: unknown }> } | undefined)
        ?.content?.['application/json'];
      if (media?.example === undefined) continue;
      const kind = kindOf[String(media.schema?.$ref)] as Parameters<typeof validator.check>[0] | undefined;
      expect([path, method, kind === undefined ? 'no input kind' : validator.check(kind, media.example)]).toEqual([
        path,
        method,
        [],
      ]);
      checked += 1;
    }
    expect(checked).toBeGreaterThanOrEqual(6);
  });

  it('has unique operationIds', () => {
    const ids = operations.map(([, , op]) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('resolves every $ref, inside the document and into the schema files', () => {
    const unresolved: string[] = [];
    for (const [at, ref] of refsIn(document)) {
      const [file = '', fragment = ''] = ref.split('#');
      if (file === '') {
        if (resolvePointer(document, fragment) === undefined) unresolved.push(`${at}: ${ref}`);
        continue;
      }
      const path = join(CONTRACTS, file);
      if (!existsSync(path)) {
        unresolved.push(`${at}: ${ref} (no such file)`);
        continue;
      }
      if (resolvePointer(JSON.parse(readFileSync(path, 'utf8')), fragment) === undefined) {
        unresolved.push(`${at}: ${ref}`);
      }
    }
    expect(unresolved).toEqual([]);
  });

  it.each(RECORD_KINDS)('documents POST /v1/preview/%s with its schema, a Bundle and problem+json errors', (kind) => {
    const op = paths[`/v1/preview/${kind}`]?.post as Json;
    expect(resolvePointer(op, '/requestBody/content/application~1json/schema/$ref')).toBe(
      `schemas/${SCHEMA_FILES[kind]}`,
    );
    const responses = op.responses as Record<string, { $ref: string }>;
    const content = (status: string): string[] =>
      Object.keys(resolvePointer(document, `${responses[status]?.$ref.slice(1) ?? ''}/content`) as Json);
    expect(content('200')).toEqual(['application/fhir+json']);
    for (const status of ['400', '413', '415', '422']) expect(content(status)).toEqual(['application/problem+json']);
  });

  it('documents the Problem as the service sends it (type, title, status, detail, errors of field/rule/message)', () => {
    const schemas = (document.components as Json).schemas as Record<string, Json>;
    expect(Object.keys(schemas.Problem?.properties as Json)).toEqual(['type', 'title', 'status', 'detail', 'errors']);
    expect(Object.keys(schemas.FieldError?.properties as Json)).toEqual(['field', 'rule', 'message']);
  });

  it('shows a 422 example the validator really gives', () => {
    const example = resolvePointer(
      document,
      '/components/responses/InvalidInput/content/application~1problem+json/example',
    ) as Json;
    const input = variant(HIT_SESSION, {
      '/modality': 'swim',
      '/intervals/1/peakHr': 251,
      '/patient/nationalId': withWrongCheckDigit(NATIONAL_ID),
    });
    expect(createInputValidator(loadContracts().schemas).check('hit-sessions', input)).toEqual(example.errors);
  });

  it('is served by the app: every documented operation has a route', async () => {
    const store = createSqliteStore({ file: ':memory:' });
    const patientKey = createPatientKeyer('openapi-test-secret-openapi-test-secret');
    const app = createApp({
      logger: createLogger({ level: 'silent', pretty: false }),
      // Authentication has its own suite (auth.test.ts); these are about the routes behind it.
      auth: { mode: 'off' },
      readiness: [],
      readinessTimeoutMs: 100,
      metrics: createMetrics({ defaultMetrics: false }),
      contracts: loadContracts(),
      mappingOptions: DEFAULT_MAPPING_OPTIONS,
      bodyLimitBytes: 1024 * 1024,
      submissions: { store, patientKey, clock: () => new Date() },
      browser: { store, clock: () => new Date(), replayMax: 10 },
      handover: {
        store,
        patientKey,
        clock: () => new Date(),
        eventValidator: createEventValidator(loadEventSchemas()),
        acknowledge: (ack, now) => acknowledgeHandover(store, ack, now),
        hospitalContactConfigured: true,
        handoverMessage: () => Promise.reject(notFound('no such discharge')),
      },
    });
    for (const [path, method] of operations) {
      const response = await (request(app) as unknown as Record<string, (p: string) => request.Test>)[method]?.(path);
      // A 404 from a route (no such submission) is fine; "No route for …" is not.
      const noRoute =
        response?.status === 405 || String((response?.body as { detail?: string }).detail).startsWith('No route for');
      expect([path, method, noRoute]).toEqual([path, method, false]);
    }
  });
});

describe('the OpenAPI document served at /openapi.json', () => {
  const served = loadContracts().openapi;

  it('refers to nothing outside itself, and every reference resolves', () => {
    const refs = [...refsIn(served)].map(([, ref]) => ref);
    expect(refs.filter((ref) => !ref.startsWith('#'))).toEqual([]);
    expect(refs.filter((ref) => resolvePointer(served, ref.slice(1)) === undefined)).toEqual([]);
  });

  it('carries the input schemas under components.schemas, as in contracts/schemas/', () => {
    const schemas = (served.components as Json).schemas as Json;
    expect(schemas.HitSessionInput).toEqual(loadContracts().schemas['hit-sessions']);
    expect(schemas.FitnessTestInput).toEqual(loadContracts().schemas['fitness-tests']);
    expect(schemas.PrescriptionInput).toEqual(loadContracts().schemas.prescriptions);
  });
});
