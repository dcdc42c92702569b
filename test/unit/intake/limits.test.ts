// What hostile or runaway input meets before it costs anything: nesting depth, bounded strings
// and lists in every schema, a rate limit per client, a deadline per request, security headers.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { DEFAULT_MAPPING_OPTIONS } from '../../../mappings/common.ts';
import { createPatientKeyer } from '../../../src/events/patient-key.ts';
import { createApp, type AppDeps } from '../../../src/intake/app.ts';
import { createJwtVerifier } from '../../../src/intake/auth.ts';
import { loadContracts } from '../../../src/intake/contracts.ts';
import { jsonDepth, MAX_JSON_DEPTH } from '../../../src/intake/json-body.ts';
import { createRateLimiter } from '../../../src/intake/rate-limit.ts';
import { createLogger } from '../../../src/platform/logger.ts';
import { createMetrics } from '../../../src/platform/metrics.ts';
import { createSqliteStore } from '../../../src/store/sqlite-store.ts';
import type { Store } from '../../../src/store/store.ts';
import { startTestIssuer } from '../../support/jwt-issuer.ts';
import { EXAMPLES } from './examples.ts';

const contracts = loadContracts();
const silent = createLogger({ level: 'silent', pretty: false });

function app(overrides: Partial<AppDeps> = {}) {
  return createApp({
    logger: silent,
    auth: { mode: 'off' },
    readiness: [],
    readinessTimeoutMs: 100,
    metrics: createMetrics({ defaultMetrics: false }),
    contracts,
    mappingOptions: DEFAULT_MAPPING_OPTIONS,
    bodyLimitBytes: 256 * 1024,
    ...overrides,
  });
}

function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i += 1) value = i % 2 === 0 ? [value] : { a: value };
  return value;
}

describe('JSON nesting depth', () => {
  it('measures depth without recursion, even 100,000 levels deep', () => {
    expect(jsonDepth(1)).toBe(0);
    expect(jsonDepth({ a: [1, { b: 2 }] })).toBe(3);
    const deep = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`) as unknown;
    expect(jsonDepth(deep)).toBe(100_000);
    expect(jsonDepth(deep, 40)).toBe(41);
  });

  it(`refuses a body nested more than ${MAX_JSON_DEPTH} levels with 400 before validation`, async () => {
    const response = await request(app())
      .post('/v1/preview/hit-sessions')
      .send({ ...EXAMPLES['hit-sessions'], extra: nested(MAX_JSON_DEPTH) });
    expect(response.status).toBe(400);
    expect((response.body as { detail: string }).detail).toBe(
      `The body nests objects and lists more than ${MAX_JSON_DEPTH} levels deep.`,
    );
  });

  it(`lets a body of exactly ${MAX_JSON_DEPTH} levels through to validation (422 for the unknown field)`, async () => {
    const response = await request(app())
      .post('/v1/preview/hit-sessions')
      .send({ ...EXAMPLES['hit-sessions'], extra: nested(MAX_JSON_DEPTH - 1) });
    expect(response.status).toBe(422);
  });

  it('refuses a deeply nested body of a few kilobytes as quickly (no stack overflow, no 500)', async () => {
    const body = `${'['.repeat(50_000)}${']'.repeat(50_000)}`;
    const response = await request(app())
      .post('/v1/preview/hit-sessions')
      .set('Content-Type', 'application/json')
      .send(body);
    expect(response.status).toBe(400);
  });
});

describe('every input schema bounds its strings and lists', () => {
  const files = readdirSync(join('contracts', 'schemas')).filter((file) => file.endsWith('.json'));

  function* unbounded(node: unknown, at: string): Generator<string> {
    if (Array.isArray(node)) {
      for (const [i, item] of node.entries()) yield* unbounded(item, `${at}/${i}`);
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    const schema = node as Record<string, unknown>;
    const types = Array.isArray(schema.type) ? (schema.type as unknown[]) : [schema.type];
    const fixed = 'enum' in schema || 'const' in schema;
    if (types.includes('string') && !fixed && typeof schema.maxLength !== 'number')
      yield `${at}: string without maxLength`;
    if (types.includes('array') && typeof schema.maxItems !== 'number') yield `${at}: array without maxItems`;
    for (const [key, value] of Object.entries(schema)) {
      if (key !== 'examples' && key !== 'default') yield* unbounded(value, `${at}/${key}`);
    }
  }

  it.each(files)('%s: every string has maxLength (or is an enum/const) and every list has maxItems', (file) => {
    const schema = JSON.parse(readFileSync(join('contracts', 'schemas', file), 'utf8')) as unknown;
    expect([...unbounded(schema, '')]).toEqual([]);
  });

  it('finds an unbounded string or list when there is one (the check can fail)', () => {
    expect([...unbounded({ properties: { a: { type: 'string' }, b: { type: 'array', items: {} } } }, '')]).toEqual([
      '/properties/a: string without maxLength',
      '/properties/b: array without maxItems',
    ]);
  });
});

describe('the rate limit per client', () => {
  it('lets a burst through, then answers with the seconds until a token is back, refilling over time', () => {
    let now = 0;
    const limiter = createRateLimiter({ perSecond: 2, burst: 3, now: () => now });
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([0, 0, 0]);
    expect(limiter.take('a')).toBe(1);
    expect(limiter.take('b')).toBe(0); // another client has its own bucket
    now = 500; // half a second: one token at 2 per second
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(1);
    const slow = createRateLimiter({ perSecond: 0.1, burst: 1, now: () => 0 });
    expect([slow.take('a'), slow.take('a')]).toEqual([0, 10]);
  });

  it('keeps a bounded number of clients, forgetting idle (full) buckets first', () => {
    let now = 0;
    const limiter = createRateLimiter({ perSecond: 1, burst: 1, now: () => now, maxClients: 2 });
    limiter.take('a');
    limiter.take('b');
    now = 5_000; // both full again
    limiter.take('c');
    // 'a' was forgotten and starts with a full bucket; nothing was held against it.
    expect(limiter.take('a')).toBe(0);
  });

  it('answers 429 with Retry-After to the client over its limit, while another client goes on', async () => {
    const issuer = await startTestIssuer();
    try {
      const limited = app({
        auth: {
          mode: 'jwt',
          verify: createJwtVerifier({
            issuer: issuer.issuer,
            audience: issuer.audience,
            jwksUrl: issuer.jwksUrl,
            clockSkewSeconds: 0,
            logger: silent,
          }),
        },
        rateLimiter: createRateLimiter({ perSecond: 0.5, burst: 2 }),
      });
      const busy = await issuer.token({ clientId: 'clinic-busy' });
      const quiet = await issuer.token({ clientId: 'clinic-quiet' });
      const send = (token: string) =>
        request(limited)
          .post('/v1/preview/hit-sessions')
          .set('Authorization', `Bearer ${token}`)
          .send(EXAMPLES['hit-sessions']);
      expect((await send(busy)).status).toBe(200);
      expect((await send(busy)).status).toBe(200);
      const refused = await send(busy);
      expect(refused.status).toBe(429);
      expect(refused.headers['retry-after']).toBe('2');
      expect(refused.body).toMatchObject({ type: 'https://hit-bridge.no/problems/too-many-requests', status: 429 });
      expect((await send(quiet)).status).toBe(200);
      // Open routes are never limited.
      expect((await request(limited).get('/healthz')).status).toBe(200);
    } finally {
      await issuer.close();
    }
  });

  it('with authentication off, counts per IP address', async () => {
    const limited = app({ rateLimiter: createRateLimiter({ perSecond: 0.5, burst: 1 }) });
    expect((await request(limited).post('/v1/preview/hit-sessions').send(EXAMPLES['hit-sessions'])).status).toBe(200);
    expect((await request(limited).post('/v1/preview/hit-sessions').send(EXAMPLES['hit-sessions'])).status).toBe(429);
  });
});

describe('the deadline per request', () => {
  it('answers 503 with Retry-After when the route does not answer in time, and drops its late answer', async () => {
    const store = createSqliteStore({ file: ':memory:' });
    await store.migrate();
    let release: () => void = () => undefined;
    const stuck: Store = Object.assign(Object.create(store) as Store, {
      accept: (...args: Parameters<Store['accept']>) =>
        new Promise<Awaited<ReturnType<Store['accept']>>>((resolve, reject) => {
          release = () => {
            store.accept(...args).then(resolve, reject);
          };
        }),
    });
    const slow = app({
      requestTimeoutMs: 300,
      submissions: {
        store: stuck,
        patientKey: createPatientKeyer('limits-test-secret-limits-test-secret'),
        clock: () => new Date(),
      },
    });
    const started = performance.now();
    const response = await request(slow).post('/v1/hit-sessions').send(EXAMPLES['hit-sessions']);
    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBe('1');
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(performance.now() - started).toBeLessThan(3000);
    release();
    // The route finishes after the answer was sent: nothing breaks, and the record is kept.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await store.backlog(new Date()))['ehr-delivery'].count).toBe(1);
  });
});

describe('security headers (helmet)', () => {
  it.each(['/healthz', '/v1/preview/hit-sessions'])(
    'are on every answer, %s included (a 200 and a 405)',
    async (path) => {
      const response = await request(app()).get(path);
      expect(response.headers).toMatchObject({
        'x-content-type-options': 'nosniff',
        'strict-transport-security': expect.stringContaining('max-age=') as unknown,
        'content-security-policy': expect.stringContaining("default-src 'self'") as unknown,
        'x-frame-options': 'SAMEORIGIN',
        'referrer-policy': 'no-referrer',
      });
      expect(response.headers['x-powered-by']).toBeUndefined();
    },
  );
});
