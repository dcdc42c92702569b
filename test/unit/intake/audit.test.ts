// The audit trail of the HTTP API, in-process (supertest) on a real SQLite store in memory.
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import request from 'supertest';
import { DEFAULT_MAPPING_OPTIONS } from '../../../mappings/common.ts';
import { createPatientKeyer } from '../../../src/events/patient-key.ts';
import { createApp } from '../../../src/intake/app.ts';
import type { InboundAuth } from '../../../src/intake/auth.ts';
import { loadContracts } from '../../../src/intake/contracts.ts';
import { createLogger } from '../../../src/platform/logger.ts';
import { createMetrics } from '../../../src/platform/metrics.ts';
import { createSqliteStore } from '../../../src/store/sqlite-store.ts';
import type { Store, StoredAuditEntry } from '../../../src/store/store.ts';
import { HIT_SESSION, NATIONAL_ID, variant } from './examples.ts';

const contracts = loadContracts();
const NOW = new Date('2026-03-02T12:00:00Z');
const ANONYMOUS = 'anonymous';

function capture(): { logger: ReturnType<typeof createLogger>; text: () => string } {
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
  return { logger, text: () => chunks.join('') };
}

async function setup(audit?: Pick<Store, 'recordAudit'>, auth: InboundAuth = { mode: 'off' }) {
  const store = createSqliteStore({ file: ':memory:' });
  await store.migrate();
  const { logger, text } = capture();
  const app = createApp({
    logger,
    readiness: [],
    readinessTimeoutMs: 1000,
    contracts,
    mappingOptions: DEFAULT_MAPPING_OPTIONS,
    bodyLimitBytes: 2048,
    metrics: createMetrics({ defaultMetrics: false }),
    auth,
    submissions: { store, patientKey: createPatientKeyer('unit-test-secret-unit-test-secret'), clock: () => NOW },
    audit: { store: audit ?? store, clock: () => NOW },
  });
  return { app, store, logs: text };
}

/** The entry is written once the response has gone: wait for it. */
async function trailOf(store: Store, count: number): Promise<StoredAuditEntry[]> {
  for (let i = 0; i < 100; i += 1) {
    const trail = await store.auditTrail({ limit: 100 });
    if (trail.length >= count) return trail;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return store.auditTrail({ limit: 100 });
}

describe('the audit trail of /v1 calls', () => {
  it('records accepted, read and refused calls with route template, status, submission and request id', async () => {
    const { app, store } = await setup();
    const created = await request(app).post('/v1/hit-sessions').set('X-Request-Id', 'req-1').send(HIT_SESSION);
    const id = (created.body as { id: string }).id;
    await request(app).get(`/v1/submissions/${id}`).set('X-Request-Id', 'req-2');
    await request(app)
      .post('/v1/hit-sessions')
      .set('X-Request-Id', 'req-3')
      .send(variant(HIT_SESSION, { '/modality': 'x' }));
    await request(app).get(`/v1/submissions/${randomUUID()}`).set('X-Request-Id', 'req-4');
    await request(app).post('/v1/hit-sessions').set('X-Request-Id', 'req-5').type('text/plain').send('hello');
    await request(app)
      .post('/v1/hit-sessions')
      .set('X-Request-Id', 'req-6')
      .send({ pad: 'x'.repeat(4096) });

    const trail = await trailOf(store, 6);
    expect(
      trail.map(({ clientId, method, route, status, requestId }) => [clientId, method, route, status, requestId]),
    ).toEqual([
      [ANONYMOUS, 'POST', '/v1/hit-sessions', 202, 'req-1'],
      [ANONYMOUS, 'GET', '/v1/submissions/:id', 200, 'req-2'],
      [ANONYMOUS, 'POST', '/v1/hit-sessions', 422, 'req-3'],
      [ANONYMOUS, 'GET', '/v1/submissions/:id', 404, 'req-4'],
      [ANONYMOUS, 'POST', '/v1/hit-sessions', 415, 'req-5'],
      [ANONYMOUS, 'POST', '/v1/hit-sessions', 413, 'req-6'],
    ]);
    expect(trail[0]?.submissionId).toBe(id);
    expect(trail[1]?.submissionId).toBe(id);
    expect(trail[2]?.submissionId).toBeUndefined();
    expect(trail.every((entry) => entry.at.getTime() === NOW.getTime())).toBe(true);
  });

  it('writes the template, never the path as sent, and nothing from a path with personal data in it', async () => {
    const { app, store, logs } = await setup();
    const email = 'kari.nordmann@example.no';
    const notFoundById = await request(app).get(`/v1/submissions/${NATIONAL_ID}`);
    const notFoundByPath = await request(app).get(`/v1/patients/${email}`);
    const trail = await trailOf(store, 2);
    expect(trail.map((entry) => [entry.route, entry.status, entry.submissionId])).toEqual([
      ['/v1/submissions/:id', 404, undefined],
      ['(no route)', 404, undefined],
    ]);
    for (const text of [JSON.stringify(trail), logs(), notFoundById.text, notFoundByPath.text]) {
      expect(text).not.toContain(NATIONAL_ID);
      expect(text).not.toContain(email);
    }
  });

  it('does not audit health, readiness and the OpenAPI document', async () => {
    const { app, store } = await setup();
    await request(app).get('/healthz');
    await request(app).get('/openapi.json');
    await request(app).post('/v1/hit-sessions').send(HIT_SESSION);
    expect((await trailOf(store, 1)).map((entry) => entry.route)).toEqual(['/v1/hit-sessions']);
  });

  it('replaces a request id that could be a national id, in the answer, the logs and the audit', async () => {
    const { app, store, logs } = await setup();
    const response = await request(app)
      .post('/v1/hit-sessions')
      .set('X-Request-Id', `r-${NATIONAL_ID}`)
      .send(HIT_SESSION);
    expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const [entry] = await trailOf(store, 1);
    expect(entry?.requestId).toBe(response.headers['x-request-id']);
    expect(logs()).not.toContain(NATIONAL_ID);
  });

  it('refuses an Idempotency-Key that could be a national id (it is kept after retention)', async () => {
    const { app } = await setup();
    const response = await request(app)
      .post('/v1/hit-sessions')
      .set('Idempotency-Key', `k-${NATIONAL_ID}`)
      .send(HIT_SESSION);
    expect(response.status).toBe(400);
    expect(response.text).not.toContain(NATIONAL_ID);
  });

  it('a call still answers when the audit cannot be written, and the failure is logged', async () => {
    const failing: Pick<Store, 'recordAudit'> = { recordAudit: () => Promise.reject(new Error('disk full')) };
    const { app, logs } = await setup(failing);
    const response = await request(app).post('/v1/hit-sessions').send(HIT_SESSION);
    expect(response.status).toBe(202);
    for (let i = 0; i < 50 && !logs().includes('could not write the audit entry'); i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(logs()).toContain('could not write the audit entry');
  });

  it('names the client authentication established, also on a call refused for its scope; an unproven caller is anonymous', async () => {
    const auth: InboundAuth = {
      mode: 'jwt',
      verify: (token) =>
        token === 'reader-token'
          ? Promise.resolve({ clientId: 'clinic-a-reader', scopes: new Set(['hit.read']) })
          : Promise.reject(new Error('refused')),
    };
    const { app, store } = await setup(undefined, auth);
    await request(app).post('/v1/hit-sessions').send(HIT_SESSION);
    await request(app).post('/v1/hit-sessions').set('Authorization', 'Bearer reader-token').send(HIT_SESSION);
    await request(app).get(`/v1/submissions/${randomUUID()}`).set('Authorization', 'Bearer reader-token');
    const trail = await trailOf(store, 3);
    expect(trail.map((entry) => [entry.clientId, entry.route, entry.status])).toEqual([
      [ANONYMOUS, '/v1/hit-sessions', 401],
      ['clinic-a-reader', '/v1/hit-sessions', 403],
      ['clinic-a-reader', '/v1/submissions/:id', 404],
    ]);
  });
});

describe('GET /v1/submissions/:id after retention', () => {
  it('still answers with status, timeline and references, and says the content was erased', async () => {
    const { app, store } = await setup();
    const created = await request(app).post('/v1/hit-sessions').send(HIT_SESSION);
    const id = (created.body as { id: string }).id;
    const [job] = await store.claim('ehr-delivery', 'w', { now: NOW, leaseMs: 60_000, limit: 1 });
    if (job === undefined) throw new Error('no job');
    await store.complete(job, { status: 'delivered', ehrReferences: ['Procedure/1'] }, NOW);
    const later = new Date(NOW.getTime() + 31 * 86_400_000);
    await store.erasePersonalData({ deliveredBefore: later, failedBefore: new Date(0), limit: 10 }, later);

    const response = await request(app).get(`/v1/submissions/${id}`);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      id,
      status: 'delivered',
      ehrReferences: ['Procedure/1'],
      erasure: {
        at: later.toISOString(),
        reason: expect.stringMatching(/erased under the retention rules/) as unknown,
      },
    });
    expect((response.body as { timeline: { kind: string }[] }).timeline.map((entry) => entry.kind)).toEqual([
      'accepted',
      'erased',
    ]);
  });
});
