// The accepting routes in-process (supertest against createApp) on a real SQLite store in memory.
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import request from 'supertest';
import { DEFAULT_MAPPING_OPTIONS, type MappingOptions } from '../../../mappings/common.ts';
import { RECORD_KINDS } from '../../../src/kinds/kinds.ts';
import { createPatientKeyer } from '../../../src/events/patient-key.ts';
import { createApp } from '../../../src/intake/app.ts';
import { loadContracts } from '../../../src/intake/contracts.ts';
import { hashOf } from '../../../src/intake/submissions.ts';
import { createLogger } from '../../../src/platform/logger.ts';
import { createMetrics } from '../../../src/platform/metrics.ts';
import { createSqliteStore } from '../../../src/store/sqlite-store.ts';
import type { Store } from '../../../src/store/store.ts';
import { EXAMPLES, HIT_SESSION, NATIONAL_ID, variant, withWrongCheckDigit } from './examples.ts';

const contracts = loadContracts();

interface Accepted {
  id: string;
  status: string;
  statusUrl: string;
}
interface ProblemBody {
  detail: string;
  errors: unknown[];
}
const accepted = (response: request.Response): Accepted => response.body as Accepted;
const problem = (response: request.Response): ProblemBody => response.body as ProblemBody;
const NOW = new Date('2026-03-02T12:00:00Z');

async function setup(
  mappingOptions: MappingOptions = DEFAULT_MAPPING_OPTIONS,
): Promise<{ app: ReturnType<typeof createApp>; store: Store; logs: () => string }> {
  const store = createSqliteStore({ file: ':memory:' });
  await store.migrate();
  const chunks: string[] = [];
  const logger = createLogger({
    level: 'info',
    pretty: false,
    destination: new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks.push(chunk.toString());
        done();
      },
    }),
  });
  const app = createApp({
    logger,
    // Authentication has its own suite (auth.test.ts); these are about the routes behind it.
    auth: { mode: 'off' },
    readiness: [],
    readinessTimeoutMs: 1000,
    metrics: createMetrics({ defaultMetrics: false }),
    contracts,
    mappingOptions,
    bodyLimitBytes: 256 * 1024,
    submissions: { store, patientKey: createPatientKeyer('unit-test-secret-unit-test-secret'), clock: () => NOW },
  });
  return { app, store, logs: () => chunks.join('') };
}

async function queued(store: Store): Promise<number> {
  return (await store.backlog(NOW))['ehr-delivery'].count;
}

describe('POST /v1/<kind> when the EHR profile is dips-arena', () => {
  const DIPS_ARENA: MappingOptions = { ehrProfile: 'dips-arena', ncmpDipsCoding: false };

  it.each(RECORD_KINDS)('refuses a %s without episodeId with 422 naming it, and keeps nothing', async (kind) => {
    const { app, store } = await setup(DIPS_ARENA);
    const response = await request(app).post(`/v1/${kind}`).send(EXAMPLES[kind]);
    expect(response.status).toBe(422);
    expect(problem(response).errors).toEqual([
      expect.objectContaining({ field: '/episodeId', rule: 'required-by-ehr-profile' }),
    ]);
    expect(await queued(store)).toBe(0);
  });

  it.each(RECORD_KINDS)('accepts a %s with its episodeId', async (kind) => {
    const { app, store } = await setup(DIPS_ARENA);
    const response = await request(app)
      .post(`/v1/${kind}`)
      .send({ ...EXAMPLES[kind], episodeId: '9000001' });
    expect(response.status).toBe(202);
    expect(await queued(store)).toBe(1);
  });
});

describe('POST /v1/<kind>', () => {
  it.each(Object.keys(EXAMPLES))('accepts a valid %s with 202, a status URL, and one delivery job', async (kind) => {
    const { app, store } = await setup();
    const response = await request(app)
      .post(`/v1/${kind}`)
      .send(EXAMPLES[kind as keyof typeof EXAMPLES]);
    expect(response.status).toBe(202);
    const body = accepted(response);
    expect(body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
      status: 'accepted',
      statusUrl: `/v1/submissions/${body.id}`,
    });
    expect(response.headers.location).toBe(body.statusUrl);
    expect(await queued(store)).toBe(1);
  });

  it('names each submission with a time-ordered UUID (version 7) that carries when it was accepted', async () => {
    const { app } = await setup();
    const response = await request(app).post('/v1/hit-sessions').send(EXAMPLES['hit-sessions']);
    const { id } = accepted(response);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(NOW.getTime());
  });

  it('answers the same input sent twice with the same submission (200) and no new work', async () => {
    const { app, store } = await setup();
    const first = await request(app).post('/v1/hit-sessions').send(HIT_SESSION);
    const again = await request(app)
      .post('/v1/hit-sessions')
      .send({ ...HIT_SESSION });
    expect([first.status, again.status]).toEqual([202, 200]);
    expect(accepted(again).id).toBe(accepted(first).id);
    expect(await queued(store)).toBe(1);
  });

  it('treats the same content with its keys in another order as the same request', () => {
    const reordered = Object.fromEntries(Object.entries(HIT_SESSION).reverse());
    expect(hashOf(reordered)).toBe(hashOf(HIT_SESSION));
    expect(hashOf(variant(HIT_SESSION, { '/borgRpe': 13 }))).not.toBe(hashOf(HIT_SESSION));
  });

  it('hashes content exactly as stored hashes were made: a resend after an upgrade is still the same request', () => {
    // Sorted keys (by UTF-16 code unit), undefined fields left out, JSON's own spelling of values.
    const content = {
      b: [1, 'two', { z: null, a: true }],
      a: { é: 1.5, A: -0, ' ': 'x"\\' },
      u: undefined,
      n: [],
      e: {},
    };
    expect(hashOf(content)).toBe('bdf1d4ff7b9eb20a68022ee1b278b884707947b98f5ca1ba56288eae586ee08e');
  });

  it('refuses a resent session id with other content (409), keeping the first', async () => {
    const { app, store } = await setup();
    const first = await request(app).post('/v1/hit-sessions').send(HIT_SESSION);
    const changed = await request(app)
      .post('/v1/hit-sessions')
      .send(variant(HIT_SESSION, { '/borgRpe': 13 }));
    expect(changed.status).toBe(409);
    expect(changed.headers['content-type']).toContain('application/problem+json');
    expect(problem(changed).detail).toContain(`submission ${accepted(first).id}`);
    expect(await queued(store)).toBe(1);
  });

  it('honours Idempotency-Key: same key and body → the same submission; same key, other body → 409', async () => {
    const { app } = await setup();
    const first = await request(app).post('/v1/hit-sessions').set('Idempotency-Key', 'k-1').send(HIT_SESSION);
    const again = await request(app).post('/v1/hit-sessions').set('Idempotency-Key', 'k-1').send(HIT_SESSION);
    const other = await request(app)
      .post('/v1/hit-sessions')
      .set('Idempotency-Key', 'k-1')
      .send(variant(HIT_SESSION, { '/sessionId': 'S-OTHER' }));
    expect([first.status, again.status, other.status]).toEqual([202, 200, 409]);
    expect(accepted(again).id).toBe(accepted(first).id);
    expect(problem(other).detail).toMatch(/Idempotency-Key was already used/);
  });

  it('rejects an Idempotency-Key that is not visible ASCII with 400', async () => {
    const { app, store } = await setup();
    const response = await request(app).post('/v1/hit-sessions').set('Idempotency-Key', 'k 1').send(HIT_SESSION);
    expect(response.status).toBe(400);
    expect(await queued(store)).toBe(0);
  });

  it('stores nothing for invalid input, and says which field breaks which rule (422)', async () => {
    const { app, store } = await setup();
    const response = await request(app)
      .post('/v1/hit-sessions')
      .send(variant(HIT_SESSION, { '/patient/nationalId': withWrongCheckDigit(NATIONAL_ID) }));
    expect(response.status).toBe(422);
    expect(problem(response).errors).toEqual([
      expect.objectContaining({ field: '/patient/nationalId', rule: 'national-id' }),
    ]);
    expect(await queued(store)).toBe(0);
  });
});

describe('GET /v1/submissions/:id', () => {
  it('shows where a submission is, without its content', async () => {
    const { app } = await setup();
    const posted = accepted(await request(app).post('/v1/hit-sessions').send(HIT_SESSION));
    const status = await request(app).get(posted.statusUrl);
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({
      id: posted.id,
      kind: 'hit-sessions',
      source: HIT_SESSION.source,
      inputId: HIT_SESSION.sessionId,
      status: 'accepted',
      acceptedAt: NOW.toISOString(),
      ehrReferences: [],
      timeline: [{ kind: 'accepted', at: NOW.toISOString() }],
    });
    expect(JSON.stringify(status.body)).not.toContain(NATIONAL_ID);
  });

  it('answers 404 problem+json for an unknown or malformed id', async () => {
    const { app } = await setup();
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
      const response = await request(app).get(`/v1/submissions/${id}`);
      expect([response.status, response.headers['content-type']]).toEqual([
        404,
        expect.stringContaining('problem+json'),
      ]);
    }
  });

  it('never logs the national id while accepting', async () => {
    const { app, logs } = await setup();
    await request(app).post('/v1/hit-sessions').send(HIT_SESSION);
    expect(logs()).not.toContain(NATIONAL_ID);
  });

  it('carries the request id on every line of a request, and the submission id once known', async () => {
    const { app, logs } = await setup();
    const lines = (): Record<string, unknown>[] =>
      logs()
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    const created = await request(app).post('/v1/hit-sessions').set('X-Request-Id', 'clinic-req-1').send(HIT_SESSION);
    // Another body under the same session id: refused after the body was read, naming the first submission.
    const refused = await request(app)
      .post('/v1/hit-sessions')
      .set('X-Request-Id', 'clinic-req-2')
      .send(variant(HIT_SESSION, { '/borgRpe': 13 }));
    expect([created.headers['x-request-id'], refused.headers['x-request-id']]).toEqual([
      'clinic-req-1',
      'clinic-req-2',
    ]);
    const id = accepted(created).id;
    expect(lines().map(({ requestId, submissionId, msg }) => ({ requestId, submissionId, msg }))).toEqual([
      { requestId: 'clinic-req-1', submissionId: id, msg: 'request' },
      { requestId: 'clinic-req-2', submissionId: id, msg: expect.any(String) as string },
      { requestId: 'clinic-req-2', submissionId: id, msg: 'request' },
    ]);
  });

  it('makes its own request id when the offered one is malformed or could carry personal data', async () => {
    const { app } = await setup();
    for (const offered of ['with space', 'x'.repeat(129), NATIONAL_ID, `id-${NATIONAL_ID}`, '<script>']) {
      const response = await request(app).get('/healthz').set('X-Request-Id', offered);
      expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('keeps the request id on the lines of a request whose body arrives slowly, in pieces', async () => {
    const { app, logs } = await setup();
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const body = JSON.stringify(variant(HIT_SESSION, { '/borgRpe': 99 }));
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const sent = httpRequest(
        {
          port,
          host: '127.0.0.1',
          method: 'POST',
          path: '/v1/hit-sessions',
          headers: { 'content-type': 'application/json', 'x-request-id': 'slow-1' },
        },
        (response) => {
          response.resume();
          resolve(response.statusCode);
        },
      );
      sent.on('error', reject);
      sent.write(body.slice(0, 20));
      setTimeout(() => sent.end(body.slice(20)), 50);
    });
    server.close();
    expect(status).toBe(422);
    const lines = logs()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map(({ requestId }) => requestId)).toEqual(['slow-1', 'slow-1']);
  });
});
