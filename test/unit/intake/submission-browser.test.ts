// The message browser and bulk replay over HTTP, in-process on a SQLite store in memory, with
// bearer tokens from a stand-in issuer: scopes, validation, paging by cursor, the bound on a
// bulk replay, and an audit entry for every call.
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { DEFAULT_MAPPING_OPTIONS } from '../../../mappings/common.ts';
import { createApp } from '../../../src/intake/app.ts';
import { createJwtVerifier } from '../../../src/intake/auth.ts';
import { loadContracts } from '../../../src/intake/contracts.ts';
import { parseFilter } from '../../../src/intake/submission-filter.ts';
import { createMetrics } from '../../../src/platform/metrics.ts';
import { createSqliteStore } from '../../../src/store/sqlite-store.ts';
import type { Store, StoredAuditEntry } from '../../../src/store/store.ts';
import { startTestIssuer, type TestIssuer } from '../../support/jwt-issuer.ts';
import { silentLogger } from '../../support/silent-logger.ts';

const contracts = loadContracts();
const NOW = new Date('2026-03-02T12:00:00Z');
const KEY = 'K'.repeat(43);
let issuer: TestIssuer;
let reader: string;
let admin: string;

beforeAll(async () => {
  issuer = await startTestIssuer();
  reader = await issuer.token({ scope: 'hit.read', clientId: 'on-call-reader' });
  admin = await issuer.token({ scope: 'hit.read admin', clientId: 'on-call-admin' });
});
afterAll(async () => {
  await issuer.close();
});

/** `failed` failed submissions (EHR 404) and `accepted` ones on their way, a minute apart. */
async function setup(counts: { failed: number; accepted: number }, replayMax = 100) {
  const store = createSqliteStore({ file: ':memory:' });
  await store.migrate();
  let minute = 0;
  const accept = async () => {
    const id = randomUUID();
    minute += 1;
    const at = new Date(NOW.getTime() - 60 * 60_000 + minute * 60_000);
    await store.accept(
      {
        id,
        kind: 'hit-sessions',
        source: 'clinic-a',
        inputId: `S-${id}`,
        bodyHash: 'h',
        body: {},
        patientKey: KEY,
        acceptedAt: at,
      },
      { queue: 'ehr-delivery', payload: null, runAt: at },
    );
    return id;
  };
  const failed: string[] = [];
  for (let i = 0; i < counts.failed; i += 1) failed.push(await accept());
  const jobs = await store.claim('ehr-delivery', 'w', { now: NOW, leaseMs: 60_000, limit: 1000 });
  for (const job of jobs) {
    await store.fail(
      job,
      {
        status: 'failed',
        timeline: [
          {
            at: NOW,
            kind: 'failed',
            message: 'The EHR refused the record: HAPI-1091',
            detail: { httpStatus: 404, reason: 'ehr-refused' },
          },
        ],
      },
      NOW,
    );
  }
  for (let i = 0; i < counts.accepted; i += 1) await accept();
  const app = createApp({
    logger: silentLogger,
    readiness: [],
    readinessTimeoutMs: 1000,
    contracts,
    mappingOptions: DEFAULT_MAPPING_OPTIONS,
    bodyLimitBytes: 16 * 1024,
    metrics: createMetrics({ defaultMetrics: false }),
    auth: {
      mode: 'jwt',
      verify: createJwtVerifier({
        issuer: issuer.issuer,
        audience: issuer.audience,
        jwksUrl: issuer.jwksUrl,
        clockSkewSeconds: 30,
        logger: silentLogger,
      }),
    },
    browser: { store, clock: () => NOW, replayMax },
    audit: { store, clock: () => NOW },
  });
  return { app, store, failed };
}

async function trail(store: Store, count: number): Promise<StoredAuditEntry[]> {
  for (let i = 0; i < 100; i += 1) {
    const entries = await store.auditTrail({ limit: 100 });
    if (entries.length >= count) return entries;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return store.auditTrail({ limit: 100 });
}

describe('GET /v1/submissions', () => {
  it('pages newest first by cursor until a page is not full; together the pages hold each submission once', async () => {
    const { app } = await setup({ failed: 3, accepted: 4 });
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page += 1) {
      const response = await request(app)
        .get('/v1/submissions')
        .query({ limit: 3, ...(cursor === undefined ? {} : { cursor }) })
        .set('Authorization', `Bearer ${reader}`);
      expect(response.status).toBe(200);
      const body = response.body as { items: { id: string; acceptedAt: string }[]; nextCursor?: string };
      seen.push(...body.items.map((item) => item.id));
      cursor = body.nextCursor;
      if (cursor === undefined) break;
    }
    expect(seen).toHaveLength(7);
    expect(new Set(seen).size).toBe(7);
  });

  it('filters (status, failure reason, EHR status, error text), and shows why each failed, never the content', async () => {
    const { app, failed } = await setup({ failed: 2, accepted: 2 });
    const response = await request(app)
      .get('/v1/submissions')
      .query({
        status: 'failed',
        failureReason: 'ehr-refused',
        ehrStatus: '404',
        errorText: 'hapi-1091',
        patientKey: KEY,
      })
      .set('Authorization', `Bearer ${reader}`);
    expect(response.status).toBe(200);
    const items = (response.body as { items: Record<string, unknown>[] }).items;
    expect(items.map((item) => item.id).sort()).toEqual([...failed].sort());
    expect(items[0]).toEqual({
      id: expect.any(String) as unknown,
      kind: 'hit-sessions',
      source: 'clinic-a',
      inputId: expect.stringMatching(/^S-/) as unknown,
      status: 'failed',
      acceptedAt: expect.any(String) as unknown,
      updatedAt: expect.any(String) as unknown,
      failureReason: 'ehr-refused',
      statusUrl: expect.stringMatching(/^\/v1\/submissions\//) as unknown,
    });
  });

  it.each([
    [{ statsu: 'failed' }, '/query/statsu', 'unknown'],
    [{ status: 'lost' }, '/query/status', 'enum'],
    [{ patientKey: '01817012345' }, '/query/patientKey', 'pattern'],
    [{ since: 'yesterday' }, '/query/since', 'format'],
    [{ limit: '0' }, '/query/limit', 'range'],
    [{ cursor: 'not-a-cursor' }, '/query/cursor', 'cursor'],
    [{ errorText: 'x'.repeat(201) }, '/query/errorText', 'length'],
  ])('refuses %j with 400 naming %s (%s)', async (query, field, rule) => {
    const { app } = await setup({ failed: 0, accepted: 1 });
    const response = await request(app).get('/v1/submissions').query(query).set('Authorization', `Bearer ${reader}`);
    expect(response.status).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect((response.body as { errors: unknown[] }).errors).toContainEqual(expect.objectContaining({ field, rule }));
    // A national id is never echoed back.
    expect(JSON.stringify(response.body)).not.toContain('01817012345');
  });

  it('needs a token (401), and the summary and listing answer with hit.read', async () => {
    const { app } = await setup({ failed: 1, accepted: 1 });
    expect((await request(app).get('/v1/submissions')).status).toBe(401);
    expect((await request(app).get('/v1/submissions/summary').set('Authorization', `Bearer ${reader}`)).status).toBe(
      200,
    );
  });
});

describe('GET /v1/submissions/summary', () => {
  it('counts by kind and status, failures by reason, and the age of the oldest still on its way', async () => {
    const { app } = await setup({ failed: 2, accepted: 3 });
    const response = await request(app).get('/v1/submissions/summary').set('Authorization', `Bearer ${reader}`);
    expect(response.body).toEqual({
      counts: [
        { kind: 'hit-sessions', status: 'accepted', count: 3 },
        { kind: 'hit-sessions', status: 'failed', count: 2 },
      ],
      failedByReason: [{ reason: 'ehr-refused', count: 2 }],
      // The first accepted one came at minute 3 of the hour before NOW.
      oldestUndelivered: { acceptedAt: '2026-03-02T11:03:00.000Z', ageSeconds: 57 * 60 },
    });
  });
});

describe('POST /v1/submissions/replay', () => {
  it('needs the admin scope: hit.read alone is refused 403', async () => {
    const { app } = await setup({ failed: 1, accepted: 0 });
    const response = await request(app)
      .post('/v1/submissions/replay')
      .set('Authorization', `Bearer ${reader}`)
      .send({ dryRun: true });
    expect(response.status).toBe(403);
  });

  it('a dry run counts and changes nothing; the real run re-queues them and its progress can be read', async () => {
    const { app, store, failed } = await setup({ failed: 3, accepted: 2 });
    const dry = await request(app)
      .post('/v1/submissions/replay')
      .set('Authorization', `Bearer ${admin}`)
      .send({ status: 'failed', since: '2026-03-02', dryRun: true });
    expect([dry.status, dry.body]).toEqual([200, { dryRun: true, count: 3, maximum: 100 }]);
    expect((await store.getSubmission(failed[0] ?? ''))?.status).toBe('failed');

    const real = await request(app)
      .post('/v1/submissions/replay')
      .set('Authorization', `Bearer ${admin}`)
      .send({ status: 'failed' });
    expect(real.status).toBe(202);
    const body = real.body as { replayId: string; progressUrl: string; count: number };
    expect(body.count).toBe(3);
    expect(real.headers.location).toBe(body.progressUrl);
    const progress = await request(app).get(body.progressUrl).set('Authorization', `Bearer ${admin}`);
    expect(progress.body).toEqual({
      replayId: body.replayId,
      total: 3,
      accepted: 3,
      delivered: 0,
      failed: 0,
      finished: false,
    });
    expect(
      (await request(app).get(`/v1/submissions/replays/${randomUUID()}`).set('Authorization', `Bearer ${admin}`))
        .status,
    ).toBe(404);
  });

  it('refuses a filter matching more than REPLAY_MAX with 422 and the count, re-queueing nothing', async () => {
    const { app, store, failed } = await setup({ failed: 4, accepted: 0 }, 3);
    const response = await request(app).post('/v1/submissions/replay').set('Authorization', `Bearer ${admin}`).send({});
    expect(response.status).toBe(422);
    expect((response.body as { errors: { message: string; rule: string }[] }).errors[0]).toMatchObject({
      rule: 'maximum',
      message: expect.stringContaining('4 failed submissions match; one replay takes at most 3') as unknown,
    });
    for (const id of failed) expect((await store.getSubmission(id))?.status).toBe('failed');
  });

  it.each([
    [{ status: 'delivered' }, '/status', 'const'],
    [{ sttus: 'failed' }, '/sttus', 'unknown'],
    [{ dryRun: 'yes' }, '/dryRun', 'type'],
    [{ ehrStatus: 99 }, '/ehrStatus', 'range'],
  ])('refuses %j with 422 naming %s (%s)', async (body, field, rule) => {
    const { app } = await setup({ failed: 1, accepted: 0 });
    const response = await request(app)
      .post('/v1/submissions/replay')
      .set('Authorization', `Bearer ${admin}`)
      .send(body);
    expect(response.status).toBe(422);
    expect((response.body as { errors: unknown[] }).errors).toContainEqual(expect.objectContaining({ field, rule }));
  });
});

describe('the audit trail of the browser and bulk replay', () => {
  it('records every call — listing, summary, refused and real replays, progress — with client and route template', async () => {
    const { app, store } = await setup({ failed: 1, accepted: 0 });
    await request(app).get('/v1/submissions').set('Authorization', `Bearer ${reader}`);
    await request(app).get('/v1/submissions/summary').set('Authorization', `Bearer ${reader}`);
    await request(app).post('/v1/submissions/replay').set('Authorization', `Bearer ${reader}`).send({});
    const real = await request(app).post('/v1/submissions/replay').set('Authorization', `Bearer ${admin}`).send({});
    await request(app)
      .get((real.body as { progressUrl: string }).progressUrl)
      .set('Authorization', `Bearer ${admin}`);
    const entries = await trail(store, 5);
    expect(entries.map((entry) => [entry.clientId, entry.method, entry.route, entry.status])).toEqual([
      ['on-call-reader', 'GET', '/v1/submissions', 200],
      ['on-call-reader', 'GET', '/v1/submissions/summary', 200],
      ['on-call-reader', 'POST', '/v1/submissions/replay', 403],
      ['on-call-admin', 'POST', '/v1/submissions/replay', 202],
      ['on-call-admin', 'GET', '/v1/submissions/replays/:id', 200],
    ]);
  });
});

describe('parseFilter', () => {
  it('takes a date or a date-time with its zone, and refuses a local time without one', () => {
    const at = (field: string) => `/${field}`;
    expect(parseFilter({ since: '2026-11-23', until: '2026-11-24T08:00:00+01:00' }, at)).toEqual({
      ok: true,
      value: { since: new Date('2026-11-23T00:00:00Z'), until: new Date('2026-11-24T07:00:00Z') },
    });
    expect(parseFilter({ since: '2026-11-23T08:00:00' }, at)).toMatchObject({
      ok: false,
      errors: [{ field: '/since', rule: 'format' }],
    });
  });

  it('says a national id is not a patient key', () => {
    const parsed = parseFilter({ patientKey: '01817012345' }, (field) => `/${field}`);
    expect(parsed).toMatchObject({
      ok: false,
      errors: [{ message: expect.stringContaining('never a national id') as unknown }],
    });
  });
});
