/**
 * Authentication to a FHIR server: the SMART Backend Services token cache, the one retry after a
 * 401, the client assertion's claims, and refusals in plain words. The token endpoint is nock.
 */
import { generateKeyPairSync, createPublicKey } from 'node:crypto';
import { Writable } from 'node:stream';
import { decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import nock from 'nock';
import {
  clientAssertion,
  createFhirAuth,
  fetchWithFhirAuth,
  signingKey,
  thumbprint,
  withFhirAuth,
  type FhirAuthSettings,
  type RequestSigner,
} from '../../../src/delivery/fhir-auth.ts';
import { createLogger } from '../../../src/platform/logger.ts';
import { silentLogger } from '../../support/silent-logger.ts';

const AUTH = 'http://auth.example.test';
const TOKEN_PATH = '/realms/r/protocol/openid-connect/token';
const TOKEN_URL = `${AUTH}${TOKEN_PATH}`;
const FHIR = 'http://ehr.example.test/fhir';
const TARGET = { method: 'POST', url: FHIR };
const ecPem = generateKeyPairSync('ec', { namedCurve: 'P-384' })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();
const rsaPem = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();

function harness(overrides: Partial<Extract<FhirAuthSettings, { kind: 'smart-backend' }>> = {}, discover = false) {
  let clock = Date.parse('2026-05-04T10:00:00Z');
  const lines: string[] = [];
  const logger = createLogger({
    level: 'debug',
    pretty: false,
    destination: new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    }),
  });
  const auth = createFhirAuth(
    {
      kind: 'smart-backend',
      clientId: 'hit-bridge',
      privateKeyPem: ecPem,
      ...(discover ? {} : { tokenUrl: TOKEN_URL }),
      fhirBaseUrl: FHIR,
      scopes: 'system/*.write',
      ...overrides,
    },
    { logger, now: () => clock },
  );
  return {
    auth,
    lines,
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

/** Answers token requests with access tokens numbered in order; records each request's form. */
function tokenEndpoint(expiresIn = 300) {
  const forms: URLSearchParams[] = [];
  const scope = nock(AUTH)
    .post(TOKEN_PATH, (body: Record<string, string>) => {
      forms.push(new URLSearchParams(body));
      return true;
    })
    .times(10)
    .reply(() => [200, { access_token: `token-${forms.length}`, token_type: 'Bearer', expires_in: expiresIn }]);
  return { forms, scope };
}

afterEach(() => {
  nock.cleanAll();
});
afterAll(() => {
  nock.enableNetConnect();
  // nock patches Node's shared http module: left installed, it stalls the real requests of
  // whichever suite this worker runs next (seen again: http.test.ts's compressed-body test hung).
  nock.restore();
});

describe('SMART Backend Services token cache', () => {
  test('the first request fetches a token and later ones reuse it while it is fresh', async () => {
    const { auth } = harness();
    const { forms } = tokenEndpoint(300);
    expect(await auth.authorize(TARGET)).toEqual({ ok: true, headers: { authorization: 'Bearer token-1' } });
    expect(await auth.authorize(TARGET)).toEqual({ ok: true, headers: { authorization: 'Bearer token-1' } });
    expect(forms).toHaveLength(1);
    expect(forms[0]?.get('grant_type')).toBe('client_credentials');
    expect(forms[0]?.get('scope')).toBe('system/*.write');
    expect(forms[0]?.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
  });

  test('a token is replaced shortly before it expires (30 s early for a 5-minute token)', async () => {
    const { auth, advance } = harness();
    const { forms } = tokenEndpoint(300);
    await auth.authorize(TARGET);
    advance(269_000);
    expect(await auth.authorize(TARGET)).toEqual({ ok: true, headers: { authorization: 'Bearer token-1' } });
    advance(1_000);
    expect(await auth.authorize(TARGET)).toEqual({ ok: true, headers: { authorization: 'Bearer token-2' } });
    expect(forms).toHaveLength(2);
  });

  test('a short-lived token is replaced a fifth of its lifetime early', async () => {
    const { auth, advance } = harness();
    tokenEndpoint(10);
    await auth.authorize(TARGET);
    advance(7_900);
    expect(await auth.authorize(TARGET)).toEqual({ ok: true, headers: { authorization: 'Bearer token-1' } });
    advance(100);
    expect(await auth.authorize(TARGET)).toEqual({ ok: true, headers: { authorization: 'Bearer token-2' } });
  });

  test('callers asking at once share one token request', async () => {
    const { auth } = harness();
    const { forms } = tokenEndpoint();
    const headers = await Promise.all([auth.authorize(TARGET), auth.authorize(TARGET), auth.authorize(TARGET)]);
    expect(new Set(headers.map((header) => (header.ok ? header.headers.authorization : 'failed')))).toEqual(
      new Set(['Bearer token-1']),
    );
    expect(forms).toHaveLength(1);
  });

  test('without a token URL the endpoint comes from the server’s SMART configuration', async () => {
    const { auth } = harness({}, true);
    const discovery = nock('http://ehr.example.test')
      .get('/fhir/.well-known/smart-configuration')
      .reply(200, { token_endpoint: TOKEN_URL, token_endpoint_auth_methods_supported: ['private_key_jwt'] });
    const { forms } = tokenEndpoint();
    expect(await auth.authorize(TARGET)).toEqual({ ok: true, headers: { authorization: 'Bearer token-1' } });
    expect(discovery.isDone()).toBe(true);
    expect(forms).toHaveLength(1);
  });
});

/** A send that records the Authorization header of each attempt and answers the given statuses in turn. */
function answering(statuses: readonly number[]) {
  const sent: (string | undefined)[] = [];
  const send = async (sign: RequestSigner): Promise<number> => {
    sent.push((await sign(TARGET)).authorization);
    return statuses[Math.min(sent.length, statuses.length) - 1] ?? 200;
  };
  const answer = (status: number) => ({ status, headers: new Headers() });
  return { sent, send, answer };
}

describe('a 401 from the FHIR server', () => {
  test('drops the token and sends once more with a fresh one', async () => {
    const { auth } = harness();
    const { forms } = tokenEndpoint();
    const { sent, send, answer } = answering([401, 200]);
    const outcome = await withFhirAuth(auth, send, answer);
    expect(outcome).toEqual({ ok: true, result: 200 });
    expect(sent).toEqual(['Bearer token-1', 'Bearer token-2']);
    expect(forms).toHaveLength(2);
  });

  test('a second 401 is the answer: no third request, no third token', async () => {
    const { auth } = harness();
    const { forms } = tokenEndpoint();
    const { sent, send, answer } = answering([401]);
    const outcome = await withFhirAuth(auth, send, answer);
    expect(outcome).toEqual({ ok: true, result: 401 });
    expect(sent).toHaveLength(2);
    expect(forms).toHaveLength(2);
  });

  test('with a static bearer token (nothing fresher to get) is not retried', async () => {
    const auth = createFhirAuth({ kind: 'bearer', token: 'static-secret' }, { logger: silentLogger });
    const { sent, send, answer } = answering([401]);
    const outcome = await withFhirAuth(auth, send, answer);
    expect(outcome).toEqual({ ok: true, result: 401 });
    expect(sent).toEqual(['Bearer static-secret']);
  });

  test('a refused token request ends the attempt with the refusal, nothing sent', async () => {
    const { auth } = harness();
    nock(AUTH).post(TOKEN_PATH).reply(400, { error: 'invalid_scope' });
    let sends = 0;
    const outcome = await withFhirAuth(
      auth,
      async (sign) => {
        await sign(TARGET);
        sends += 1;
        return 200;
      },
      (status) => ({ status, headers: new Headers() }),
    );
    expect(outcome.ok).toBe(false);
    expect(sends).toBe(0);
  });

  test('fetchWithFhirAuth (recipient endpoints) carries the token and retries a 401 once', async () => {
    const { auth } = harness();
    tokenEndpoint();
    const refused = nock('http://recipient.example.test')
      .post('/fhir/Bundle')
      .matchHeader('authorization', 'Bearer token-1')
      .reply(401, '');
    const accepted = nock('http://recipient.example.test')
      .post('/fhir/Bundle')
      .matchHeader('authorization', 'Bearer token-2')
      .reply(201, { resourceType: 'Bundle' });
    const outcome = await fetchWithFhirAuth(auth, 'http://recipient.example.test/fhir/Bundle', {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: '{}',
    });
    expect(outcome.ok && outcome.result.status).toBe(201);
    expect(refused.isDone() && accepted.isDone()).toBe(true);
  });
});

describe('a refused token request', () => {
  test('invalid_client is reported in plain words, with the endpoint’s own words, and nothing secret', async () => {
    const { auth, lines } = harness();
    nock(AUTH)
      .post(TOKEN_PATH)
      .reply(401, { error: 'invalid_client', error_description: 'Invalid client or Invalid client credentials' });
    const header = await auth.authorize(TARGET);
    expect(header.ok).toBe(false);
    if (header.ok) return;
    expect(header.failure.httpStatus).toBe(401);
    expect(header.failure.error).toBe('invalid_client');
    expect(header.failure.message).toMatch(
      /^the authorization server refused hit-bridge's credentials \(401 invalid_client: Invalid client or Invalid client credentials\)/,
    );
    const logged = lines.join('');
    expect(logged).toContain('invalid_client');
    expect(logged).not.toContain('PRIVATE KEY');
    expect(logged).not.toContain('client_assertion');
  });

  test('an unreachable authorization server is a failure, not a throw', async () => {
    const { auth } = harness({ tokenUrl: 'http://127.0.0.1:9/token' });
    nock.enableNetConnect('127.0.0.1');
    const header = await auth.authorize(TARGET);
    expect(header.ok).toBe(false);
    if (!header.ok) expect(header.failure.message).toMatch(/^cannot reach the authorization server/);
  });
});

describe('client assertion (RFC 7523, SMART Backend Services)', () => {
  test('iss = sub = client id, aud = the token URL, a unique jti, expiring within 5 minutes, signed ES384 with the key’s thumbprint as kid', async () => {
    const { key, algorithm } = signingKey(ecPem);
    const kid = await thumbprint(key);
    const nowS = 1_777_888_000;
    const first = await clientAssertion({
      clientId: 'hit-bridge',
      tokenUrl: TOKEN_URL,
      key,
      algorithm,
      keyId: kid,
      nowS,
    });
    const second = await clientAssertion({
      clientId: 'hit-bridge',
      tokenUrl: TOKEN_URL,
      key,
      algorithm,
      keyId: kid,
      nowS,
    });
    expect(decodeProtectedHeader(first)).toEqual({ alg: 'ES384', kid, typ: 'JWT' });
    const { payload } = await jwtVerify(first, createPublicKey(key), {
      issuer: 'hit-bridge',
      subject: 'hit-bridge',
      audience: TOKEN_URL,
      currentDate: new Date(nowS * 1000),
    });
    expect(payload.iat).toBe(nowS);
    expect((payload.exp ?? Infinity) - nowS).toBeLessThanOrEqual(300);
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(decodeJwt(second).jti).not.toBe(payload.jti);
  });

  test('the token request carries an assertion made for that endpoint', async () => {
    const { auth } = harness();
    const { forms } = tokenEndpoint();
    await auth.authorize(TARGET);
    const claims = decodeJwt(forms[0]?.get('client_assertion') ?? '');
    expect(claims).toMatchObject({ iss: 'hit-bridge', sub: 'hit-bridge', aud: TOKEN_URL });
  });

  test('an RSA key signs RS384; other keys are refused without showing them', () => {
    expect(signingKey(rsaPem).algorithm).toBe('RS384');
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    expect(() => signingKey(p256)).toThrow(/must be RSA \(RS384\) or EC P-384 \(ES384\)/);
    expect(() => signingKey('-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----')).toThrow(
      /^the private key is not a readable PEM private key/,
    );
  });
});
