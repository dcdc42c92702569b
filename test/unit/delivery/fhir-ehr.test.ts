import {
  createFhirAuth,
  type FhirAuth,
  type FhirAuthSettings,
  type RequestTarget,
} from '../../../src/delivery/fhir-auth.ts';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { Bundle, OperationOutcome } from 'fhir/r4.js';
import nock from 'nock';
import { createCircuitBreaker, type CircuitBreaker } from '../../../src/delivery/circuit-breaker.ts';
import type { EhrFailure, TransactionOutcome } from '../../../src/delivery/ehr.ts';
import {
  challengeText,
  classifyStatus,
  createFhirEhr,
  operationOutcomeText,
  parseRetryAfter,
} from '../../../src/delivery/fhir-ehr.ts';
import { createLogger } from '../../../src/platform/logger.ts';
import { createMetrics, METRIC_NAMES, type Metrics } from '../../../src/platform/metrics.ts';
import { inSpan, SpanKind, SpanStatusCode, startTracing, type RunningTracing } from '../../../src/platform/tracing.ts';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { withCheckDigits } from '../domain/synthetic-national-ids.ts';

const ORIGIN = 'http://ehr.test';
const BASE = `${ORIGIN}/fhir`;
/** fhir-kit-client posts a transaction to the base URL with a trailing slash. */
const TX_PATH = '/fhir/';
const T0 = Date.parse('2026-03-02T10:00:00.000Z');

const bundle: Bundle = {
  resourceType: 'Bundle',
  type: 'transaction',
  entry: [
    {
      fullUrl: 'urn:uuid:0c5c3c2e-6d2a-4a55-9b3a-1b1f2f0a9e01',
      resource: { resourceType: 'Basic', code: { text: 'test' }, identifier: [{ system: 'urn:test', value: 'a' }] },
      request: { method: 'POST', url: 'Basic', ifNoneExist: 'identifier=urn:test|a' },
    },
    {
      fullUrl: 'urn:uuid:0c5c3c2e-6d2a-4a55-9b3a-1b1f2f0a9e02',
      resource: { resourceType: 'Basic', code: { text: 'test' }, identifier: [{ system: 'urn:test', value: 'b' }] },
      request: { method: 'POST', url: 'Basic', ifNoneExist: 'identifier=urn:test|b' },
    },
  ],
};

const transactionResponse: Bundle = {
  resourceType: 'Bundle',
  type: 'transaction-response',
  entry: [
    { response: { status: '201 Created', location: 'Basic/101/_history/1', etag: '1' } },
    { response: { status: '200 OK', location: 'Basic/77/_history/3' } },
  ],
};

const outcome = (diagnostics: string, extra: Partial<OperationOutcome['issue'][number]> = {}): OperationOutcome => ({
  resourceType: 'OperationOutcome',
  issue: [{ severity: 'error', code: 'processing', diagnostics, ...extra }],
});

const FHIR_JSON = { 'content-type': 'application/fhir+json' };

interface Harness {
  readonly ehr: ReturnType<typeof createFhirEhr>;
  readonly breaker: CircuitBreaker;
  readonly logs: Record<string, unknown>[];
  readonly metrics: Metrics;
  /** Moves the injected clock. */
  readonly advance: (ms: number) => void;
}

function harness(
  options: { auth?: FhirAuthSettings; port?: FhirAuth; timeoutMs?: number; baseUrl?: string } = {},
): Harness {
  let clock = T0;
  const logs: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  const breaker = createCircuitBreaker({
    failureThreshold: 3,
    cooldownMs: 1_000,
    cooldownMultiplier: 2,
    maxCooldownMs: 4_000,
    probeTimeoutMs: 10_000,
  });
  const metrics = createMetrics({ defaultMetrics: false });
  const logger = createLogger({ level: 'debug', pretty: false, destination });
  const ehr = createFhirEhr({
    baseUrl: options.baseUrl ?? BASE,
    auth: options.port ?? createFhirAuth(options.auth ?? { kind: 'none' }, { logger, now: () => clock }),
    timeoutMs: options.timeoutMs ?? 2_000,
    breaker,
    metrics,
    logger,
    now: () => clock,
  });
  return {
    ehr,
    breaker,
    logs,
    metrics,
    advance: (ms) => {
      clock += ms;
    },
  };
}

function failureOf(result: TransactionOutcome): EhrFailure {
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result.result)}`);
  return result.failure;
}

beforeAll(() => {
  nock.disableNetConnect();
  // Only the connection-refused test reaches a (closed) local port.
  nock.enableNetConnect('127.0.0.1');
});
afterEach(() => {
  nock.cleanAll();
});
afterAll(() => {
  nock.enableNetConnect();
  // nock patches Node's shared http module: left installed, it stalls the real requests of
  // whichever suite this worker runs next (seen: supertest with compressed bodies hung).
  nock.restore();
});

describe('FHIR EHR adapter: success', () => {
  it('posts the Bundle as FHIR JSON and returns each entry’s response status and location', async () => {
    const { ehr, breaker } = harness();
    let received: unknown;
    const scope = nock(ORIGIN, {
      reqheaders: { 'content-type': /^application\/fhir\+json/, accept: 'application/fhir+json' },
      badheaders: ['authorization'],
    })
      .post(TX_PATH, (body: unknown) => {
        received = body;
        return true;
      })
      .reply(200, transactionResponse, FHIR_JSON);

    const result = await ehr.transaction(bundle);

    expect(result).toEqual({
      ok: true,
      result: {
        httpStatus: 200,
        entries: [
          { status: '201 Created', location: 'Basic/101/_history/1' },
          { status: '200 OK', location: 'Basic/77/_history/3' },
        ],
      },
    });
    expect(received).toEqual(bundle);
    expect(scope.isDone()).toBe(true);
    expect(breaker.state(T0)).toBe('closed');
  });

  it('sends the bearer token when configured', async () => {
    const { ehr } = harness({ auth: { kind: 'bearer', token: 's3cret-token' } });
    const scope = nock(ORIGIN, { reqheaders: { authorization: 'Bearer s3cret-token' } })
      .post(TX_PATH)
      .reply(200, transactionResponse, FHIR_JSON);
    expect((await ehr.transaction(bundle)).ok).toBe(true);
    expect(scope.isDone()).toBe(true);
  });

  it('asks the auth port for each request’s headers with the method and URL the client sends to (a DPoP proof names both)', async () => {
    const targets: RequestTarget[] = [];
    const port: FhirAuth = {
      kind: 'helseid',
      authorize: (target) => {
        targets.push(target);
        return Promise.resolve({ ok: true, headers: { authorization: 'DPoP t', dpop: `proof ${targets.length}` } });
      },
      answered: () => 'keep',
    };
    const { ehr } = harness({ port });
    const tx = nock(ORIGIN, { reqheaders: { authorization: 'DPoP t', dpop: 'proof 1' } })
      .post(TX_PATH)
      .reply(200, transactionResponse, FHIR_JSON);
    const search = nock(ORIGIN, { reqheaders: { dpop: 'proof 2' } })
      .get('/fhir/Procedure')
      .query(true)
      .reply(200, { resourceType: 'Bundle', type: 'searchset', entry: [] }, FHIR_JSON);
    expect((await ehr.transaction(bundle)).ok).toBe(true);
    expect((await ehr.search('Procedure', { code: 'x' })).ok).toBe(true);
    expect(tx.isDone() && search.isDone()).toBe(true);
    expect(targets).toEqual([
      { method: 'POST', url: `${BASE}/` },
      { method: 'GET', url: `${BASE}/Procedure?_count=200&code=x` },
    ]);
  });

  it('sends once more when the auth port says the answer asks for it (a DPoP nonce challenge), with the nonce learnt', async () => {
    const seen: string[] = [];
    let nonce = '';
    const port: FhirAuth = {
      kind: 'helseid',
      authorize: () =>
        Promise.resolve({ ok: true, headers: { authorization: 'DPoP t', dpop: `proof nonce=${nonce}` } }),
      answered: (_target, _sent, answer) => {
        seen.push(`${answer.status} ${answer.headers.get('www-authenticate') ?? ''}`);
        nonce = answer.headers.get('dpop-nonce') ?? nonce;
        return answer.status === 401 ? 'retry-with-nonce' : 'keep';
      },
    };
    const { ehr } = harness({ port });
    nock(ORIGIN, { reqheaders: { dpop: 'proof nonce=' } })
      .post(TX_PATH)
      .reply(401, '', { 'www-authenticate': 'DPoP error="use_dpop_nonce"', 'dpop-nonce': 'n1' });
    const second = nock(ORIGIN, { reqheaders: { dpop: 'proof nonce=n1' } })
      .post(TX_PATH)
      .reply(200, transactionResponse, FHIR_JSON);
    expect((await ehr.transaction(bundle)).ok).toBe(true);
    expect(second.isDone()).toBe(true);
    expect(seen).toEqual(['401 DPoP error="use_dpop_nonce"', '200 ']);
  });

  it('a 401 with a WWW-Authenticate error says on the timeline why the credentials were refused', async () => {
    const { ehr } = harness({ auth: { kind: 'bearer', token: 't' } });
    nock(ORIGIN)
      .post(TX_PATH)
      .reply(
        401,
        { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'security', diagnostics: 'x' }] },
        {
          'www-authenticate':
            'DPoP algs="ES256", error="invalid_dpop_proof", error_description="the proof is for method GET"',
        },
      );
    const failure = failureOf(await ehr.transaction(bundle));
    expect(failure.message).toBe(
      "EHR refused hit-bridge's credentials (401 Unauthorized: invalid_dpop_proof: the proof is for method GET)",
    );
    expect(failure.retriable).toBe(true);
    expect(challengeText('Bearer realm="x"')).toBeUndefined();
    expect(challengeText('Bearer error="invalid_token"')).toBe('invalid_token');
  });

  it('works with a base URL that ends in a slash', async () => {
    const { ehr } = harness({ baseUrl: `${BASE}/` });
    const scope = nock(ORIGIN).post(TX_PATH).reply(200, transactionResponse, FHIR_JSON);
    expect((await ehr.transaction(bundle)).ok).toBe(true);
    expect(scope.isDone()).toBe(true);
  });

  it('treats a 2xx that is not a transaction-response Bundle as retriable (ids unknown), not as a breaker failure', async () => {
    const { ehr, breaker } = harness();
    nock(ORIGIN).post(TX_PATH).times(3).reply(200, { resourceType: 'Basic' }, FHIR_JSON);
    for (let i = 0; i < 3; i += 1) {
      const failure = failureOf(await ehr.transaction(bundle));
      expect(failure).toMatchObject({ retriable: true, httpStatus: 200 });
      expect(failure.message).toContain('not with a transaction-response Bundle');
    }
    expect(breaker.state(T0)).toBe('closed');
  });

  it('treats a 2xx whose body is not JSON as retriable', async () => {
    const { ehr } = harness();
    nock(ORIGIN).post(TX_PATH).reply(200, '<html>gateway says hi</html>', { 'content-type': 'text/html' });
    const failure = failureOf(await ehr.transaction(bundle));
    expect(failure).toMatchObject({ retriable: true, httpStatus: 200 });
    expect(failure.message).toContain('not FHIR JSON');
  });
});

describe('FHIR EHR adapter: Retry-After', () => {
  it('429 with Retry-After in seconds → retriable, retryAfterMs from the header', async () => {
    const { ehr } = harness();
    nock(ORIGIN)
      .post(TX_PATH)
      .reply(429, outcome('Rate limit exceeded'), { ...FHIR_JSON, 'retry-after': '120' });
    expect(failureOf(await ehr.transaction(bundle))).toEqual({
      retriable: true,
      httpStatus: 429,
      message: 'Rate limit exceeded',
      operationOutcome: outcome('Rate limit exceeded'),
      retryAfterMs: 120_000,
    });
  });

  it('429 with Retry-After as an HTTP-date → milliseconds from now', async () => {
    const { ehr } = harness();
    nock(ORIGIN).post(TX_PATH).reply(429, '', { 'retry-after': 'Mon, 02 Mar 2026 10:02:30 GMT' });
    const failure = failureOf(await ehr.transaction(bundle));
    expect(failure).toMatchObject({ retriable: true, httpStatus: 429, retryAfterMs: 150_000 });
    expect(failure.message).toBe('EHR answered 429 Too Many Requests');
  });

  it('503 with Retry-After and no OperationOutcome (a proxy page) → retriable, the status in words', async () => {
    const { ehr } = harness();
    nock(ORIGIN)
      .post(TX_PATH)
      .reply(503, '<html>Service Unavailable</html>', { 'content-type': 'text/html', 'retry-after': '5' });
    expect(failureOf(await ehr.transaction(bundle))).toEqual({
      retriable: true,
      httpStatus: 503,
      message: 'EHR answered 503 Service Unavailable',
      operationOutcome: undefined,
      retryAfterMs: 5_000,
    });
  });

  it('parses seconds and HTTP-dates, a past date as 0, and ignores what it cannot read', () => {
    expect(parseRetryAfter('0', T0)).toBe(0);
    expect(parseRetryAfter(' 30 ', T0)).toBe(30_000);
    expect(parseRetryAfter('Mon, 02 Mar 2026 10:00:10 GMT', T0)).toBe(10_000);
    expect(parseRetryAfter('Sun, 01 Mar 2026 10:00:10 GMT', T0)).toBe(0);
    expect(parseRetryAfter('-5', T0)).toBeUndefined();
    expect(parseRetryAfter('1.5', T0)).toBeUndefined();
    expect(parseRetryAfter('soon', T0)).toBeUndefined();
    expect(parseRetryAfter('', T0)).toBeUndefined();
    expect(parseRetryAfter(null, T0)).toBeUndefined();
  });
});

describe('FHIR EHR adapter: 503 bursts and the circuit breaker', () => {
  it('opens after N transient failures, sends nothing while open, probes once, and closes on success', async () => {
    const { ehr, breaker, logs, advance } = harness();

    // A burst of 503s: the third opens the circuit.
    const burst = nock(ORIGIN).post(TX_PATH).times(3).reply(503, outcome('HAPI is restarting'), FHIR_JSON);
    for (let i = 0; i < 3; i += 1) {
      expect(failureOf(await ehr.transaction(bundle))).toMatchObject({ retriable: true, httpStatus: 503 });
    }
    expect(burst.isDone()).toBe(true);
    expect(breaker.state(T0)).toBe('open');
    expect(logs).toContainEqual(expect.objectContaining({ level: 'warn', breaker: 'open', openForMs: 1_000 }));

    // While open: an immediate retriable failure, and no request (nock has no interceptor left).
    advance(400);
    expect(failureOf(await ehr.transaction(bundle))).toEqual({
      retriable: true,
      httpStatus: undefined,
      message: 'EHR circuit open',
      operationOutcome: undefined,
      retryAfterMs: 600,
    });

    // Cool-down over: ONE probe goes out while a second caller is turned away; it fails → open again, longer.
    advance(600);
    expect(breaker.state(T0 + 1_000)).toBe('half-open');
    const probe = nock(ORIGIN).post(TX_PATH).delay(20).reply(503, outcome('still restarting'), FHIR_JSON);
    const [first, second] = await Promise.all([ehr.transaction(bundle), ehr.transaction(bundle)]);
    expect(failureOf(first)).toMatchObject({ httpStatus: 503, message: 'still restarting' });
    expect(failureOf(second)).toMatchObject({ httpStatus: undefined, message: 'EHR circuit open' });
    expect(probe.isDone()).toBe(true);
    expect(breaker.state(T0 + 1_000)).toBe('open');
    expect(breaker.remainingOpenMs(T0 + 1_000)).toBe(2_000);

    // Next probe succeeds → closed, and traffic flows again.
    advance(2_000);
    const recovered = nock(ORIGIN).post(TX_PATH).times(2).reply(200, transactionResponse, FHIR_JSON);
    expect((await ehr.transaction(bundle)).ok).toBe(true);
    expect(breaker.state(T0 + 3_000)).toBe('closed');
    expect((await ehr.transaction(bundle)).ok).toBe(true);
    expect(recovered.isDone()).toBe(true);
    expect(logs).toContainEqual(expect.objectContaining({ breaker: 'closed', msg: 'EHR circuit closed' }));
  });

  it('counts 500, 502, 504, 408, 425, 401 and 403 as transient failures of the EHR', async () => {
    for (const status of [500, 502, 504, 408, 425, 401, 403]) {
      const { ehr, breaker } = harness();
      nock(ORIGIN)
        .post(TX_PATH)
        .times(3)
        .reply(status, outcome(`failure ${status}`), FHIR_JSON);
      for (let i = 0; i < 3; i += 1) {
        expect(failureOf(await ehr.transaction(bundle))).toMatchObject({
          retriable: true,
          httpStatus: status,
          message: `failure ${status}`,
        });
      }
      expect([status, breaker.state(T0)]).toEqual([status, 'open']);
    }
  });

  it('refusals (503, 429) of a burst sent at once count once: an EHR that takes fewer at a time is not down', async () => {
    const { ehr, breaker } = harness();
    // Six Bundles out together; the EHR has room for two, refuses four, and answers the two later.
    nock(ORIGIN).post(TX_PATH).times(2).reply(503, outcome('too many at once'), FHIR_JSON);
    nock(ORIGIN).post(TX_PATH).times(2).reply(429, outcome('too many at once'), FHIR_JSON);
    nock(ORIGIN).post(TX_PATH).times(2).delay(30).reply(200, transactionResponse, FHIR_JSON);
    const answers = await Promise.all(Array.from({ length: 6 }, () => ehr.transaction(bundle)));
    expect(
      answers
        .filter((answer) => !answer.ok)
        .map((answer) => failureOf(answer).httpStatus)
        .sort(),
    ).toEqual([429, 429, 503, 503]);
    expect(breaker.state(T0)).toBe('closed');

    // Refused again one after another (its threshold is 3): every refusal is its own verdict now.
    nock(ORIGIN).post(TX_PATH).times(3).reply(503, outcome('still too many'), FHIR_JSON);
    for (let i = 0; i < 3; i += 1) await ehr.transaction(bundle);
    expect(breaker.state(T0)).toBe('open');
  });

  it('a success in between resets the count', async () => {
    const { ehr, breaker } = harness();
    nock(ORIGIN).post(TX_PATH).times(2).reply(503).post(TX_PATH).reply(200, transactionResponse, FHIR_JSON);
    nock(ORIGIN).post(TX_PATH).times(2).reply(503);
    for (let i = 0; i < 5; i += 1) await ehr.transaction(bundle);
    expect(breaker.state(T0)).toBe('closed');
  });
});

/*
 * Faults below HTTP use a real local server instead of nock: with nock 15.0.2 (@mswjs/interceptors
 * 0.44) on Node 24, an AbortSignal that fires during .delay() leaves fetch resolving anyway and
 * throws an uncaught assert(!this.aborted) from undici, and .replyWithError() leaves fetch pending
 * forever. A socket that answers late or is cut off is also closer to what the EHR really does.
 */
const servers: Server[] = [];

/** A local HTTP server; `handle` decides what the EHR does. Returns its base URL. */
async function localEhr(handle: (request: IncomingMessage, response: ServerResponse) => void): Promise<string> {
  const server = createHttpServer(handle);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
}

/** Answers a transaction-response after `ms`: later than the adapter's timeout in these tests. */
const answerAfter =
  (ms: number) =>
  (request: IncomingMessage, response: ServerResponse): void => {
    request.resume();
    const timer = setTimeout(() => {
      response.writeHead(200, FHIR_JSON).end(JSON.stringify(transactionResponse));
    }, ms);
    response.on('close', () => {
      clearTimeout(timer);
    });
  };

afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise((resolve) => {
          server.closeAllConnections();
          server.close(resolve);
        }),
    ),
  );
});

describe('FHIR EHR adapter: no answer', () => {
  it('a timeout (the EHR answers too late) → retriable with a clear message, counted by the breaker', async () => {
    const baseUrl = await localEhr(answerAfter(10_000));
    const { ehr, breaker } = harness({ baseUrl, timeoutMs: 30 });
    const started = performance.now();
    const failure = failureOf(await ehr.transaction(bundle));
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(failure).toEqual({
      retriable: true,
      httpStatus: undefined,
      message: 'EHR did not answer within 30 ms (timeout)',
      operationOutcome: undefined,
      retryAfterMs: undefined,
    });
    await ehr.transaction(bundle);
    await ehr.transaction(bundle);
    expect(breaker.state(T0)).toBe('open');
  });

  it('connection refused → retriable, naming the reason', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));

    const { ehr, breaker } = harness({ baseUrl: `http://127.0.0.1:${port}/fhir` });
    const failure = failureOf(await ehr.transaction(bundle));
    expect(failure).toMatchObject({ retriable: true, httpStatus: undefined, operationOutcome: undefined });
    expect(failure.message).toBe(`cannot reach the EHR: connect ECONNREFUSED 127.0.0.1:${port}`);
    await ehr.transaction(bundle);
    await ehr.transaction(bundle);
    expect(breaker.state(T0)).toBe('open');
  });

  it('a connection cut off mid-request → retriable, counted by the breaker', async () => {
    const baseUrl = await localEhr((request) => {
      request.socket.destroy();
    });
    const { ehr, breaker } = harness({ baseUrl });
    const failure = failureOf(await ehr.transaction(bundle));
    expect(failure).toMatchObject({ retriable: true, httpStatus: undefined });
    expect(failure.message).toMatch(/^cannot reach the EHR: \S/);
    await ehr.transaction(bundle);
    await ehr.transaction(bundle);
    expect(breaker.state(T0)).toBe('open');
  });

  it('an abort by the caller (shutdown) → retriable, and the breaker is not told the EHR failed', async () => {
    const baseUrl = await localEhr(answerAfter(1_000));
    const { ehr, breaker } = harness({ baseUrl });
    for (let i = 0; i < 3; i += 1) {
      const controller = new AbortController();
      setTimeout(() => {
        controller.abort(new Error('shutting down'));
      }, 10);
      const failure = failureOf(await ehr.transaction(bundle, controller.signal));
      expect(failure).toMatchObject({ retriable: true, httpStatus: undefined });
      expect(failure.message).toContain('aborted by the caller');
    }
    expect(breaker.state(T0)).toBe('closed');
  });

  it('a probe aborted by its caller frees the half-open slot for the next caller', async () => {
    const baseUrl = await localEhr(answerAfter(1_000));
    const { ehr, breaker, advance } = harness({ baseUrl, timeoutMs: 30 });
    for (let i = 0; i < 3; i += 1) await ehr.transaction(bundle);
    advance(1_000);
    expect(breaker.state(T0 + 1_000)).toBe('half-open');
    const failure = failureOf(await ehr.transaction(bundle, AbortSignal.abort(new Error('shutting down'))));
    expect(failure.message).toContain('aborted by the caller');
    expect(breaker.canPass(T0 + 1_000)).toBe(true);
  });
});

describe('FHIR EHR adapter: permanent rejections', () => {
  it.each([
    [400, 'HAPI-0450: Failed to parse request body as JSON resource.'],
    [404, 'HAPI-1091: Invalid match URL "Patient?identifier=urn:oid:2.16.578.1.12.4.1.4.1|x" - No resources match'],
    [422, 'Profile https://hit-bridge.no/fhir/StructureDefinition/hit-session: Procedure.code: minimum required = 1'],
    [405, 'Transaction is not supported'],
    [413, 'Request entity too large'],
  ])(
    '%i with an OperationOutcome → permanent, in the EHR’s own words; the breaker is not told',
    async (status, text) => {
      const { ehr, breaker } = harness();
      nock(ORIGIN).post(TX_PATH).times(3).reply(status, outcome(text), FHIR_JSON);
      for (let i = 0; i < 3; i += 1) {
        expect(failureOf(await ehr.transaction(bundle))).toEqual({
          retriable: false,
          httpStatus: status,
          message: text,
          operationOutcome: outcome(text),
          retryAfterMs: undefined,
        });
      }
      expect(breaker.state(T0)).toBe('closed');
    },
  );

  it('412 (HAPI: a conditional create matched several resources) → permanent: only a person can merge them', async () => {
    const text =
      'HAPI-0958: Failed to CREATE Basic with match URL "identifier=urn:test|a" because this search matched 2 resources';
    const { ehr } = harness();
    nock(ORIGIN).post(TX_PATH).reply(412, outcome(text), FHIR_JSON);
    expect(failureOf(await ehr.transaction(bundle))).toMatchObject({
      retriable: false,
      httpStatus: 412,
      message: text,
    });
  });

  it('409 (HAPI: a concurrent conditional create of the same identifier) → retriable, not a breaker failure', async () => {
    // What HAPI really answered the losers of 12 concurrent identical conditional creates (one won).
    const text =
      'HAPI-0550: HAPI-2745: Error flushing transaction with resource types: [Basic] - The operation has failed with a conditional constraint failure.';
    const { ehr, breaker } = harness();
    nock(ORIGIN).post(TX_PATH).times(3).reply(409, outcome(text), FHIR_JSON);
    for (let i = 0; i < 3; i += 1) {
      expect(failureOf(await ehr.transaction(bundle))).toMatchObject({
        retriable: true,
        httpStatus: 409,
        message: text,
      });
    }
    expect(breaker.state(T0)).toBe('closed');
  });

  it('masks a national id the EHR echoes back, in the message, the OperationOutcome and the logs', async () => {
    const { ehr, logs } = harness();
    const text = 'HAPI-1091: Invalid match URL "Patient?identifier=urn:oid:2.16.578.1.12.4.1.4.1|01817012345" - none';
    nock(ORIGIN).post(TX_PATH).reply(404, outcome(text), FHIR_JSON);
    const failure = failureOf(await ehr.transaction(bundle));
    const masked =
      'HAPI-1091: Invalid match URL "Patient?identifier=urn:oid:2.16.578.1.12.4.1.4.1|[national id]" - none';
    expect(failure.message).toBe(masked);
    expect(failure.operationOutcome).toEqual(outcome(masked));
    expect(JSON.stringify(logs)).not.toContain('01817012345');
    expect(logs).toContainEqual(expect.objectContaining({ level: 'warn', httpStatus: 404, reason: masked }));
  });
});

/** The series of one metric as { 'label=value,…': value } (histograms: their _count). */
async function series(metrics: Metrics, name: string): Promise<Record<string, number>> {
  const found = (await metrics.registry.getMetricsAsJSON()).find((metric) => metric.name === name);
  if (found === undefined) throw new Error(`no metric ${name}`);
  const values = found.values as { value: number; labels: Record<string, string | number>; metricName?: string }[];
  const counted = values.filter((value) => value.metricName === undefined || value.metricName === `${name}_count`);
  return Object.fromEntries(
    counted.map((value) => [
      Object.entries(value.labels)
        .map(([key, label]) => `${key}=${String(label)}`)
        .join(','),
      value.value,
    ]),
  );
}

describe('FHIR EHR adapter: metrics', () => {
  it('times every request under how it ended: success, retriable, permanent', async () => {
    const { ehr, metrics } = harness();
    nock(ORIGIN).post(TX_PATH).reply(200, transactionResponse, FHIR_JSON);
    nock(ORIGIN).post(TX_PATH).reply(503, outcome('restarting'), FHIR_JSON);
    nock(ORIGIN).post(TX_PATH).times(2).reply(422, outcome('not this Bundle'), FHIR_JSON);
    for (let i = 0; i < 4; i += 1) await ehr.transaction(bundle);
    expect(await series(metrics, METRIC_NAMES.ehrRequestDuration)).toEqual({
      'outcome=success': 1,
      'outcome=retriable': 1,
      'outcome=permanent': 2,
    });
  });

  it('times a timeout and an unreachable EHR as such', async () => {
    const slow = harness({ baseUrl: await localEhr(answerAfter(1_000)), timeoutMs: 30 });
    await slow.ehr.transaction(bundle);
    expect(await series(slow.metrics, METRIC_NAMES.ehrRequestDuration)).toEqual({ 'outcome=timeout': 1 });

    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const gone = harness({ baseUrl: `http://127.0.0.1:${port}/fhir` });
    await gone.ehr.transaction(bundle);
    expect(await series(gone.metrics, METRIC_NAMES.ehrRequestDuration)).toEqual({ 'outcome=unreachable': 1 });
  });

  it('shows the breaker state at scrape time and counts the deliveries an open circuit turned away', async () => {
    const { ehr, metrics, advance } = harness();
    expect(await series(metrics, METRIC_NAMES.ehrCircuitState)).toEqual({ '': 0 });
    nock(ORIGIN).post(TX_PATH).times(3).reply(503, outcome('restarting'), FHIR_JSON);
    for (let i = 0; i < 5; i += 1) await ehr.transaction(bundle);
    expect(await series(metrics, METRIC_NAMES.ehrCircuitState)).toEqual({ '': 2 });
    expect(await series(metrics, METRIC_NAMES.ehrCircuitRejections)).toEqual({ '': 2 });
    expect(await series(metrics, METRIC_NAMES.ehrRequestDuration)).toEqual({ 'outcome=retriable': 3 });
    advance(1_000);
    expect(await series(metrics, METRIC_NAMES.ehrCircuitState)).toEqual({ '': 1 });
  });
});

describe('FHIR EHR adapter: ping', () => {
  it('GETs metadata as FHIR JSON', async () => {
    const { ehr } = harness({ auth: { kind: 'bearer', token: 't' } });
    const scope = nock(ORIGIN, { reqheaders: { accept: 'application/fhir+json', authorization: 'Bearer t' } })
      .get('/fhir/metadata')
      .reply(200, { resourceType: 'CapabilityStatement', status: 'active' }, FHIR_JSON);
    await expect(ehr.ping()).resolves.toBeUndefined();
    expect(scope.isDone()).toBe(true);
  });

  it('throws with the status or the network reason, for /readyz to show', async () => {
    const { ehr } = harness({ timeoutMs: 30 });
    nock(ORIGIN).get('/fhir/metadata').reply(503, 'down');
    await expect(ehr.ping()).rejects.toThrow('GET metadata answered 503 Service Unavailable');
    const slow = harness({ baseUrl: await localEhr(answerAfter(1_000)), timeoutMs: 30 });
    await expect(slow.ehr.ping()).rejects.toThrow('GET metadata: no answer within 30 ms');
  });
});

describe('classification and texts', () => {
  it('classifies every status the way the table in fhir-ehr.ts says', () => {
    const table = Object.fromEntries(
      [
        200, 201, 400, 401, 403, 404, 405, 408, 409, 410, 412, 413, 415, 422, 425, 429, 500, 501, 502, 503, 504, 302,
      ].map((status) => [status, classifyStatus(status)]),
    );
    expect(table).toEqual({
      200: 'ok',
      201: 'ok',
      400: 'permanent',
      401: 'retriable',
      403: 'retriable',
      404: 'permanent',
      405: 'permanent',
      408: 'retriable',
      409: 'retriable',
      410: 'permanent',
      412: 'permanent',
      413: 'permanent',
      415: 'permanent',
      422: 'permanent',
      425: 'retriable',
      429: 'retriable',
      500: 'retriable',
      501: 'retriable',
      502: 'retriable',
      503: 'retriable',
      504: 'retriable',
      302: 'retriable',
    });
  });

  it('joins details and diagnostics of the errors, warnings only when there is no error', () => {
    expect(
      operationOutcomeText({
        resourceType: 'OperationOutcome',
        issue: [
          { severity: 'warning', code: 'informational', diagnostics: 'Unknown extension' },
          { severity: 'error', code: 'required', details: { text: 'Procedure.subject' }, diagnostics: 'is required' },
          { severity: 'fatal', code: 'exception', details: { coding: [{ code: 'X', display: 'Server exploded' }] } },
          { severity: 'error', code: 'processing', details: { text: 'same' }, diagnostics: 'same' },
        ],
      }),
    ).toBe('Procedure.subject: is required; Server exploded; same');
    expect(operationOutcomeText(outcome('only a warning', { severity: 'warning' }))).toBe('only a warning');
  });
});

/** traceparent = version-traceid-spanid-flags (W3C Trace Context §3.2). */
function parseTraceparent(value: string | undefined): { traceId: string; spanId: string } | undefined {
  const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/.exec(value ?? '');
  return match ? { traceId: match[1] ?? '', spanId: match[2] ?? '' } : undefined;
}

/** A nock header matcher that requires the header and keeps each value sent. */
const recording =
  (into: string[]) =>
  (value: string | null): boolean => {
    if (value === null) return false;
    into.push(value);
    return true;
  };

describe('FHIR EHR adapter: tracing off', () => {
  it('sends no traceparent or tracestate when no tracing is started', async () => {
    const { ehr } = harness();
    const scope = nock(ORIGIN, { badheaders: ['traceparent', 'tracestate'] })
      .post(TX_PATH)
      .reply(200, transactionResponse, FHIR_JSON)
      .get('/fhir/Task')
      .query(true)
      .reply(200, { resourceType: 'Bundle', type: 'searchset', entry: [] }, FHIR_JSON)
      .post('/fhir/Task')
      .reply(201, { resourceType: 'Task', id: '9' }, FHIR_JSON);
    // Inside an inSpan as the worker would call it: with tracing off that is a plain call.
    expect((await inSpan('ehr-delivery', { kind: SpanKind.CONSUMER }, () => ehr.transaction(bundle))).ok).toBe(true);
    expect((await ehr.search('Task', { identifier: 'urn:test|t' })).ok).toBe(true);
    expect((await ehr.create({ resourceType: 'Task', status: 'requested', intent: 'order' })).ok).toBe(true);
    expect(scope.isDone()).toBe(true);
  });
});

describe('FHIR EHR adapter: tracing on', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: RunningTracing | undefined;
  const spans = (): ReadableSpan[] => exporter.getFinishedSpans();
  const clientSpans = (): ReadableSpan[] => spans().filter((span) => span.kind === SpanKind.CLIENT);

  beforeAll(async () => {
    tracing = await startTracing(
      { OTEL_SDK_DISABLED: false, OTEL_SERVICE_NAME: 'hit-bridge-test', OTEL_TRACES_SAMPLER: 'parentbased_always_on' },
      { spanProcessors: [new SimpleSpanProcessor({ exporter })] },
    );
  });
  afterEach(() => {
    exporter.reset();
  });
  afterAll(async () => {
    await tracing?.shutdown();
  });

  it('a transaction is a CLIENT span, child of the active span, whose context the EHR receives as traceparent', async () => {
    const { ehr } = harness();
    const sent: string[] = [];
    const scope = nock(ORIGIN, {
      reqheaders: { traceparent: recording(sent) },
    })
      .post(TX_PATH)
      .reply(200, transactionResponse, FHIR_JSON);

    const result = await inSpan('ehr-delivery', { kind: SpanKind.CONSUMER }, () => ehr.transaction(bundle));

    expect(result.ok).toBe(true);
    expect(scope.isDone()).toBe(true);
    const parent = spans().find((span) => span.name === 'ehr-delivery');
    const [client, ...others] = clientSpans();
    expect(others).toEqual([]);
    expect(client?.name).toBe('FHIR transaction');
    expect(client?.spanContext().traceId).toBe(parent?.spanContext().traceId);
    expect(client?.parentSpanContext?.spanId).toBe(parent?.spanContext().spanId);
    expect(sent.map(parseTraceparent)).toEqual([
      { traceId: parent?.spanContext().traceId, spanId: client?.spanContext().spanId },
    ]);
    expect(client?.attributes).toEqual({
      'http.request.method': 'POST',
      'server.address': 'ehr.test',
      'server.port': 80,
      'http.response.status_code': 200,
      'hitbridge.ehr.outcome': 'success',
    });
    expect(client?.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('a paged search is one CLIENT span per page, each sent as its own parent, and no span names the national id', async () => {
    const nationalId = withCheckDigits('158885123');
    const identifier = `urn:oid:2.16.578.1.12.4.1.4.1|${nationalId}`;
    const { ehr } = harness({ auth: { kind: 'bearer', token: 'span-test-token' } });
    const sent: string[] = [];
    // The next link repeats the query, as servers do: the second page's URL names the patient too.
    const next = `${BASE}/Patient?identifier=${encodeURIComponent(identifier)}&_count=200&_offset=200`;
    const scope = nock(ORIGIN, { reqheaders: { traceparent: recording(sent) } })
      .get('/fhir/Patient')
      .query({ identifier, _count: '200' })
      .reply(
        200,
        {
          resourceType: 'Bundle',
          type: 'searchset',
          link: [{ relation: 'next', url: next }],
          entry: [{ resource: { resourceType: 'Patient', id: '1' } }],
        },
        FHIR_JSON,
      )
      .get('/fhir/Patient')
      .query({ identifier, _count: '200', _offset: '200' })
      .reply(
        200,
        { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: { resourceType: 'Patient', id: '2' } }] },
        FHIR_JSON,
      );

    const found = await inSpan('handover', { kind: SpanKind.CONSUMER }, () => ehr.search('Patient', { identifier }));

    expect(found.ok && found.result.map((resource) => resource.id)).toEqual(['1', '2']);
    expect(scope.isDone()).toBe(true);
    const pages = clientSpans();
    expect(pages.map((span) => [span.name, span.attributes['http.request.method']])).toEqual([
      ['FHIR search Patient', 'GET'],
      ['FHIR search Patient', 'GET'],
    ]);
    expect(sent.map((value) => parseTraceparent(value)?.spanId)).toEqual(
      pages.map((span) => span.spanContext().spanId),
    );
    // Neither the id, nor its digits URL-encoded, nor the token anywhere a span exports.
    const exported = JSON.stringify(
      spans().map((span) => ({
        name: span.name,
        attributes: span.attributes,
        events: span.events,
        links: span.links,
        resource: span.resource.attributes,
      })),
    );
    expect(exported).not.toContain(nationalId);
    expect(exported).not.toContain('span-test-token');
    expect(exported).not.toContain('url.full');
  });

  it('a create is a CLIENT span named after the resource type, sent with its traceparent', async () => {
    const { ehr } = harness();
    const sent: string[] = [];
    const scope = nock(ORIGIN, {
      reqheaders: { 'if-none-exist': 'identifier=urn:test|task-1', traceparent: recording(sent) },
    })
      .post('/fhir/Task')
      .reply(201, { resourceType: 'Task', id: '42' }, FHIR_JSON);

    const created = await ehr.create(
      { resourceType: 'Task', status: 'requested', intent: 'order' },
      'identifier=urn:test|task-1',
    );

    expect(created).toEqual({ ok: true, result: { httpStatus: 201, id: '42' } });
    expect(scope.isDone()).toBe(true);
    const [client] = clientSpans();
    expect(client?.name).toBe('FHIR create Task');
    expect(client?.attributes).toMatchObject({ 'http.response.status_code': 201, 'hitbridge.ehr.outcome': 'success' });
    expect(sent.map((value) => parseTraceparent(value)?.spanId)).toEqual([client?.spanContext().spanId]);
  });

  it("a refused request ends its span with status ERROR, the status code and the outcome, not the EHR's words", async () => {
    const { ehr } = harness();
    nock(ORIGIN).post(TX_PATH).reply(404, outcome('HAPI-1091: no Patient matches identifier=urn:test|a'), FHIR_JSON);

    expect((await ehr.transaction(bundle)).ok).toBe(false);

    const [client] = clientSpans();
    expect(client?.status).toEqual({ code: SpanStatusCode.ERROR });
    expect(client?.attributes).toMatchObject({
      'http.response.status_code': 404,
      'hitbridge.ehr.outcome': 'permanent',
      'error.type': '404',
    });
    expect(JSON.stringify([client?.attributes, client?.events, client?.status])).not.toContain('HAPI-1091');
  });

  it('a request the EHR does not answer in time ends its span with status ERROR and outcome timeout, and the EHR still got the traceparent', async () => {
    const received: (string | string[] | undefined)[] = [];
    const baseUrl = await localEhr((request, response) => {
      received.push(request.headers.traceparent);
      answerAfter(3_000)(request, response);
    });
    // Long enough for the request to reach the server on a loaded machine (at 30 ms CI-like load
    // timed it out before it was sent), short enough to time out well before the answer.
    const { ehr } = harness({ baseUrl, timeoutMs: 500 });

    expect((await ehr.transaction(bundle)).ok).toBe(false);

    const [client] = clientSpans();
    expect(client?.status.code).toBe(SpanStatusCode.ERROR);
    expect(client?.attributes).toEqual({
      'http.request.method': 'POST',
      'server.address': '127.0.0.1',
      'server.port': Number(new URL(baseUrl).port),
      'hitbridge.ehr.outcome': 'timeout',
      'error.type': 'timeout',
    });
    expect(received.map((value) => parseTraceparent(typeof value === 'string' ? value : undefined)?.spanId)).toEqual([
      client?.spanContext().spanId,
    ]);
  });

  it('sends nothing and makes no span while the circuit is open', async () => {
    const { ehr } = harness();
    nock(ORIGIN).post(TX_PATH).times(3).reply(503, outcome('restarting'), FHIR_JSON);
    for (let i = 0; i < 3; i += 1) await ehr.transaction(bundle);
    exporter.reset();
    expect(failureOf(await ehr.transaction(bundle)).message).toBe('EHR circuit open');
    expect(clientSpans()).toEqual([]);
  });
});
