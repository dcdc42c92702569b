// Headers that must come once: a request repeating Authorization, Content-Type, Content-Length,
// Idempotency-Key or Host is refused 400 problem+json before authentication, in every AUTH_MODE.
// Real sockets on loopback: supertest cannot send a header twice, and Node's parser (which hides
// the repetition from req.headers) must be in the path.
import { createServer, request as httpRequest, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { DEFAULT_MAPPING_OPTIONS } from '../../../mappings/common.ts';
import { createPatientKeyer } from '../../../src/events/patient-key.ts';
import { createApp } from '../../../src/intake/app.ts';
import { createJwtVerifier, type InboundAuth } from '../../../src/intake/auth.ts';
import { loadContracts } from '../../../src/intake/contracts.ts';
import { answerClientError, repeatedHeaders } from '../../../src/intake/strict-headers.ts';
import { createMetrics } from '../../../src/platform/metrics.ts';
import { createSqliteStore } from '../../../src/store/sqlite-store.ts';
import type { Store } from '../../../src/store/store.ts';
import { ALL_SCOPES, startTestIssuer, type TestIssuer } from '../../support/jwt-issuer.ts';
import { silentLogger } from '../../support/silent-logger.ts';
import { HIT_SESSION } from './examples.ts';

const contracts = loadContracts();
let issuer: TestIssuer;
let good: string;
let forged: string;

beforeAll(async () => {
  issuer = await startTestIssuer();
  good = await issuer.token({ scope: ALL_SCOPES });
  forged = await issuer.tokenFromAnotherKey({ scope: ALL_SCOPES });
});
afterAll(async () => {
  await issuer.close();
});

interface Running {
  readonly port: number;
  readonly store: Store;
  /** Tokens the verifier was asked about. */
  readonly verified: string[];
  close(): Promise<void>;
}

async function serve(mode: 'jwt' | 'off'): Promise<Running> {
  const store = createSqliteStore({ file: ':memory:' });
  await store.migrate();
  const verified: string[] = [];
  const verify = createJwtVerifier({
    issuer: issuer.issuer,
    audience: issuer.audience,
    jwksUrl: issuer.jwksUrl,
    clockSkewSeconds: 30,
    logger: silentLogger,
  });
  const auth: InboundAuth =
    mode === 'off'
      ? { mode: 'off' }
      : {
          mode: 'jwt',
          verify: (token) => {
            verified.push(token);
            return verify(token);
          },
        };
  const app = createApp({
    logger: silentLogger,
    readiness: [],
    readinessTimeoutMs: 1000,
    contracts,
    mappingOptions: DEFAULT_MAPPING_OPTIONS,
    bodyLimitBytes: 64 * 1024,
    metrics: createMetrics({ defaultMetrics: false }),
    auth,
    submissions: {
      store,
      patientKey: createPatientKeyer('unit-test-secret-unit-test-secret'),
      clock: () => new Date(),
    },
    audit: { store, clock: () => new Date() },
  });
  const server: Server = createServer(app);
  server.on('clientError', answerClientError);
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    store,
    verified,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await store.close();
    },
  };
}

interface Answer {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly body: { status?: number; detail?: string; errors?: { field: string; rule: string }[]; id?: string };
}

/** POSTs the HIT session; each header given as a list is sent once per item (its own line). */
function post(port: number, headers: Readonly<Record<string, string | readonly string[]>>): Promise<Answer> {
  const body = JSON.stringify(HIT_SESSION);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/v1/hit-sessions' });
    req.setHeader('Content-Type', 'application/json');
    for (const [name, value] of Object.entries(headers))
      req.setHeader(name, typeof value === 'string' ? value : [...value]);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        resolve({
          status: res.statusCode ?? 0,
          contentType: res.headers['content-type'],
          body: JSON.parse(text) as Answer['body'],
        });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Sends bytes as they are (a repeated Content-Length cannot be sent through http.request). */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(text);
    });
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('close', () => {
      resolve(answer);
    });
    socket.on('error', reject);
  });
}

function expectRefused(answer: Answer, header: string): void {
  expect(answer.status).toBe(400);
  expect(answer.contentType).toMatch(/^application\/problem\+json/);
  expect(answer.body.detail).toContain(`${header} was sent more than once`);
  expect(answer.body.errors).toEqual([expect.objectContaining({ field: `/headers/${header}`, rule: 'single-header' })]);
}

describe.each(['jwt', 'off'] as const)('with AUTH_MODE=%s, a request repeating a single-use header', (mode) => {
  let running: Running;
  beforeEach(async () => {
    running = await serve(mode);
  });
  afterEach(async () => {
    await running.close();
  });

  it('is accepted when every header comes once (the baseline the refusals below differ from)', async () => {
    const answer = await post(running.port, { Authorization: `Bearer ${good}`, 'Idempotency-Key': 'key-1' });
    expect(answer.status).toBe(202);
  });

  it('with a valid token followed by a forged one is refused 400, and no token is verified', async () => {
    const answer = await post(running.port, { Authorization: [`Bearer ${good}`, `Bearer ${forged}`] });
    expectRefused(answer, 'Authorization');
    expect(running.verified).toEqual([]);
  });

  it('with a forged token followed by a valid one is refused 400, and no token is verified', async () => {
    const answer = await post(running.port, { Authorization: [`Bearer ${forged}`, `Bearer ${good}`] });
    expectRefused(answer, 'Authorization');
    expect(running.verified).toEqual([]);
  });

  it('with the same token twice is refused 400 too (two headers, whatever they say)', async () => {
    expectRefused(await post(running.port, { Authorization: [`Bearer ${good}`, `Bearer ${good}`] }), 'Authorization');
  });

  it('with two Content-Type headers is refused 400 and nothing is stored', async () => {
    const answer = await post(running.port, {
      Authorization: `Bearer ${good}`,
      'Content-Type': ['application/json', 'text/plain'],
    });
    expectRefused(answer, 'Content-Type');
    expect(
      await running.store.findSubmission(HIT_SESSION.source, 'hit-sessions', HIT_SESSION.sessionId),
    ).toBeUndefined();
  });

  it('with two Idempotency-Key headers (which Node would join with a comma) is refused 400', async () => {
    const answer = await post(running.port, { Authorization: `Bearer ${good}`, 'Idempotency-Key': ['key-a', 'key-b'] });
    expectRefused(answer, 'Idempotency-Key');
    expect(
      await running.store.findSubmission(HIT_SESSION.source, 'hit-sessions', HIT_SESSION.sessionId),
    ).toBeUndefined();
  });

  it('with two Host headers is refused 400', async () => {
    const answer = await post(running.port, {
      Authorization: `Bearer ${good}`,
      Host: ['hit-bridge.local', 'evil.example'],
    });
    expectRefused(answer, 'Host');
  });

  it('with two Content-Length headers is refused 400 problem+json naming Content-Length (by the server, before the app)', async () => {
    const body = JSON.stringify(HIT_SESSION);
    const length = Buffer.byteLength(body);
    const answer = await raw(
      running.port,
      `POST /v1/hit-sessions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${good}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${length}\r\nContent-Length: ${length}\r\n\r\n${body}`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 400 Bad request\r\n/);
    expect(answer).toContain('Content-Type: application/problem+json');
    const problem = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as Answer['body'];
    expect(problem).toMatchObject({
      status: 400,
      errors: [{ field: '/headers/Content-Length', rule: 'single-header' }],
    });
    expect(running.verified).toEqual([]);
    expect(
      await running.store.findSubmission(HIT_SESSION.source, 'hit-sessions', HIT_SESSION.sessionId),
    ).toBeUndefined();
  });

  it('is audited like any other refused call', async () => {
    await post(running.port, { Authorization: [`Bearer ${good}`, `Bearer ${forged}`] });
    let trail = await running.store.auditTrail({ limit: 10 });
    for (let i = 0; i < 50 && trail.length === 0; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      trail = await running.store.auditTrail({ limit: 10 });
    }
    expect(trail).toEqual([expect.objectContaining({ method: 'POST', status: 400 })]);
  });
});

describe('repeatedHeaders', () => {
  it('names a guarded header however its case is spelled, once, and ignores headers that may repeat', () => {
    expect(
      repeatedHeaders(['authorization', 'a', 'AUTHORIZATION', 'b', 'Authorization', 'c', 'Accept', 'x', 'accept', 'y']),
    ).toEqual(['Authorization']);
    expect(repeatedHeaders(['Host', 'a', 'Content-Type', 'b', 'Cookie', 'c', 'cookie', 'd'])).toEqual([]);
  });
});
