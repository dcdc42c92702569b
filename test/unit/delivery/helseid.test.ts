/**
 * The HelseID client: the exact header and claims of the client assertion and of the DPoP proofs
 * (docs/reference/helseid.md §2, §3), the nonce round trips, discovery and token caching, and
 * refusals in plain words without key material. HelseID is nock.
 */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { Writable } from 'node:stream';
import { decodeJwt, decodeProtectedHeader, importJWK, jwtVerify, type JWK } from 'jose';
import nock from 'nock';
import { fetchWithFhirAuth } from '../../../src/delivery/fhir-auth.ts';
import { accessTokenHash, htuOf, jwkThumbprint } from '../../../src/delivery/dpop.ts';
import { assertionDetails, createHelseIdClient, type HelseIdSettings } from '../../../src/delivery/helseid.ts';
import { createLogger } from '../../../src/platform/logger.ts';

const ISSUER = 'https://helseid-sts.test.example';
const TOKEN_PATH = '/connect/token';
const TOKEN_URL = `${ISSUER}${TOKEN_PATH}`;
const API = 'https://api.nhn.example';
const clientJwk = {
  ...(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }) as JWK),
  kid: 'hit-bridge-2026-12',
  alg: 'PS256',
};

function harness(overrides: Partial<HelseIdSettings> = {}) {
  let clock = Date.parse('2026-12-05T10:00:00Z');
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
  const client = createHelseIdClient(
    {
      issuer: ISSUER,
      clientId: 'hit-bridge-client',
      clientJwk,
      scopes: ['nhn:msh/api', 'e-helse:ehr/write', 'e-helse:ehr/read'],
      assertionLifetimeS: 10,
      clockSkewS: 5,
      ...overrides,
    },
    { logger, now: () => clock },
  );
  return {
    client,
    lines,
    nowS: () => Math.floor(clock / 1000),
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

function discovery(times = 1) {
  return nock(ISSUER)
    .get('/.well-known/openid-configuration')
    .times(times)
    .reply(200, { issuer: ISSUER, token_endpoint: TOKEN_URL });
}

interface TokenCall {
  readonly form: URLSearchParams;
  readonly dpop: string;
}

/** A token endpoint that records each request and answers with the given replies in turn (last repeats). */
function tokenEndpoint(replies: readonly nock.ReplyFnResult[] = []) {
  const calls: TokenCall[] = [];
  nock(ISSUER)
    .post(TOKEN_PATH)
    .times(20)
    .reply(async (request: Request) => {
      calls.push({ form: new URLSearchParams(await request.text()), dpop: request.headers.get('dpop') ?? '' });
      return (
        replies[calls.length - 1] ??
        replies.at(-1) ?? [200, { access_token: `token-${calls.length}`, token_type: 'DPoP', expires_in: 300 }]
      );
    });
  return calls;
}

const issued = (n: number): nock.ReplyFnResult => [
  200,
  { access_token: `token-${n}`, token_type: 'DPoP', expires_in: 300 },
];

afterEach(() => {
  nock.cleanAll();
});
afterAll(() => {
  nock.enableNetConnect();
  nock.restore();
});

describe('the client assertion (private_key_jwt as HelseID expects it)', () => {
  test('header typ client-authentication+jwt, alg and kid from the JWK; iss = sub = client id, aud = the issuer, iat = nbf, exp = iat + 10 s, a 32-hex jti', async () => {
    const { client, nowS } = harness();
    discovery();
    const calls = tokenEndpoint();
    expect((await client.token('nhn:msh')).ok).toBe(true);
    const assertion = calls[0]?.form.get('client_assertion') ?? '';
    expect(decodeProtectedHeader(assertion)).toEqual({
      alg: 'PS256',
      kid: 'hit-bridge-2026-12',
      typ: 'client-authentication+jwt',
    });
    const { payload } = await jwtVerify(assertion, createPublicKey({ key: clientJwk, format: 'jwk' }), {
      typ: 'client-authentication+jwt',
      currentDate: new Date(nowS() * 1000),
    });
    expect(Object.keys(payload).sort()).toEqual(['aud', 'exp', 'iat', 'iss', 'jti', 'nbf', 'sub']);
    expect(payload).toMatchObject({ iss: 'hit-bridge-client', sub: 'hit-bridge-client', aud: ISSUER });
    expect(payload.aud).not.toBe(TOKEN_URL);
    expect(payload.iat).toBe(nowS());
    expect(payload.nbf).toBe(nowS());
    expect(payload.exp).toBe(nowS() + 10);
    expect(payload.jti).toMatch(/^[0-9a-f]{32}$/);
  });

  test('the token request form is client credentials with the jwt-bearer assertion and the audience’s scopes', async () => {
    const { client } = harness();
    discovery();
    const calls = tokenEndpoint();
    await client.token('e-helse:ehr');
    const form = calls[0]?.form;
    expect([...(form?.keys() ?? [])].sort()).toEqual([
      'client_assertion',
      'client_assertion_type',
      'client_id',
      'grant_type',
      'scope',
    ]);
    expect(form?.get('grant_type')).toBe('client_credentials');
    expect(form?.get('client_id')).toBe('hit-bridge-client');
    expect(form?.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    expect(form?.get('scope')).toBe('e-helse:ehr/write e-helse:ehr/read');
  });

  test('the lifetime is configurable and never more than 60 s; every assertion has its own jti', async () => {
    const { client, nowS } = harness({ assertionLifetimeS: 600 });
    discovery();
    const calls = tokenEndpoint();
    await client.token('nhn:msh');
    await client.token('e-helse:ehr');
    const [first, second] = calls.map((call) => decodeJwt(call.form.get('client_assertion') ?? ''));
    expect(first?.exp).toBe(nowS() + 60);
    expect(first?.jti).not.toBe(second?.jti);
  });

  test('assertion_details names the organisation: multi-tenant parent[:child], single-tenant child', async () => {
    expect(assertionDetails('999999999', '888888888')).toEqual({
      type: 'helseid_authorization',
      practitioner_role: {
        organization: {
          identifier: { system: 'urn:oid:1.0.6523', type: 'ENH', value: 'NO:ORGNR:999999999:888888888' },
        },
      },
    });
    expect(assertionDetails('999999999', undefined)).toMatchObject({
      practitioner_role: { organization: { identifier: { value: 'NO:ORGNR:999999999' } } },
    });
    expect(assertionDetails(undefined, '888888888')).toMatchObject({
      practitioner_role: {
        organization: { identifier: { system: 'urn:oid:2.16.578.1.12.4.1.4.101', type: 'ENH', value: '888888888' } },
      },
    });
    expect(assertionDetails(undefined, undefined)).toBeUndefined();
    const { client } = harness({ parentOrganisation: '999999999', childOrganisation: '888888888' });
    discovery();
    const calls = tokenEndpoint();
    await client.token('nhn:msh');
    expect(decodeJwt(calls[0]?.form.get('client_assertion') ?? '').assertion_details).toEqual(
      assertionDetails('999999999', '888888888'),
    );
  });
});

describe('DPoP proofs (RFC 9449)', () => {
  test('the token request carries a proof: typ dpop+jwt, the public jwk only, htm POST, htu the token endpoint, iat, jti; no ath, no nonce', async () => {
    const { client, nowS } = harness();
    discovery();
    const calls = tokenEndpoint();
    await client.token('nhn:msh');
    const proof = calls[0]?.dpop ?? '';
    const header = decodeProtectedHeader(proof);
    expect(header).toEqual({ typ: 'dpop+jwt', alg: 'ES256', jwk: expect.any(Object) as unknown });
    expect(Object.keys(header.jwk ?? {}).sort()).toEqual(['crv', 'kty', 'x', 'y']);
    const { payload } = await jwtVerify(proof, await importJWK(header.jwk ?? {}, 'ES256'), {
      typ: 'dpop+jwt',
      currentDate: new Date(nowS() * 1000),
    });
    expect(Object.keys(payload).sort()).toEqual(['htm', 'htu', 'iat', 'jti']);
    expect(payload).toMatchObject({ htm: 'POST', htu: TOKEN_URL, iat: nowS() });
  });

  test('an API call carries Authorization: DPoP and a proof with htm, htu without query or fragment, and ath of the token', async () => {
    const { client } = harness();
    discovery();
    tokenEndpoint();
    const auth = client.authFor('nhn:msh');
    const got = await auth.authorize({ method: 'get', url: `${API}/messages/42?receiverHerId=8142#x` });
    expect(got.ok).toBe(true);
    if (!got.ok) return;
    expect(got.headers.authorization).toBe('DPoP token-1');
    const claims = decodeJwt(got.headers.dpop ?? '');
    expect(claims).toMatchObject({ htm: 'GET', htu: `${API}/messages/42`, ath: accessTokenHash('token-1') });
    expect(claims.nonce).toBeUndefined();
  });

  test('one key per process: the token request and the API call are signed by the same key', async () => {
    const { client } = harness();
    discovery();
    const calls = tokenEndpoint();
    const got = await client.authFor('nhn:msh').authorize({ method: 'POST', url: `${API}/messages` });
    if (!got.ok) throw new Error('no token');
    const tokenKey = decodeProtectedHeader(calls[0]?.dpop ?? '').jwk ?? {};
    const apiKey = decodeProtectedHeader(got.headers.dpop ?? '').jwk ?? {};
    expect(await jwkThumbprint(apiKey)).toBe(await jwkThumbprint(tokenKey));
  });

  test('ath is base64url(SHA-256) of the token (RFC 9449 §7.1 example) and htu drops query and fragment', () => {
    expect(accessTokenHash('Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU')).toBe(
      'fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo',
    );
    expect(htuOf('https://x.example/a/b?c=d#e')).toBe('https://x.example/a/b');
  });
});

describe('DPoP nonces', () => {
  test('the token endpoint’s 400 use_dpop_nonce is answered once, with a new assertion and a proof carrying the nonce', async () => {
    const { client } = harness();
    discovery();
    const calls = tokenEndpoint([
      [
        400,
        { error: 'use_dpop_nonce', error_description: 'Authorization server requires nonce' },
        { 'DPoP-Nonce': 'n-1' },
      ],
      issued(2),
    ]);
    const got = await client.token('nhn:msh');
    expect(got.ok && got.accessToken).toBe('token-2');
    expect(calls).toHaveLength(2);
    expect(decodeJwt(calls[0]?.dpop ?? '').nonce).toBeUndefined();
    expect(decodeJwt(calls[1]?.dpop ?? '').nonce).toBe('n-1');
    const [first, second] = calls.map((call) => decodeJwt(call.form.get('client_assertion') ?? '').jti);
    expect(second).not.toBe(first);
  });

  test('a second use_dpop_nonce is the answer: no third request, and the failure says so', async () => {
    const { client } = harness();
    discovery();
    const calls = tokenEndpoint([[400, { error: 'use_dpop_nonce' }, { 'DPoP-Nonce': 'n-again' }]]);
    const got = await client.token('nhn:msh');
    expect(calls).toHaveLength(2);
    expect(got.ok).toBe(false);
    if (!got.ok) {
      expect(got.failure.message).toBe(
        'HelseID demanded a DPoP nonce again after hit-bridge sent the one it gave (400 use_dpop_nonce)',
      );
    }
  });

  test('a resource server’s 401 use_dpop_nonce challenge is answered once with its nonce; the token is kept', async () => {
    const { client } = harness();
    discovery();
    const calls = tokenEndpoint();
    const proofs: string[] = [];
    nock(API)
      .post('/messages')
      .reply((request: Request) => {
        proofs.push(request.headers.get('dpop') ?? '');
        return [
          401,
          '',
          {
            'WWW-Authenticate': 'DPoP error="use_dpop_nonce", error_description="nonce required"',
            'DPoP-Nonce': 'rs-1',
          },
        ];
      })
      .post('/messages')
      .reply((request: Request) => {
        proofs.push(request.headers.get('dpop') ?? '');
        return [201, {}, { 'DPoP-Nonce': 'rs-2' }];
      });
    const outcome = await fetchWithFhirAuth(client.authFor('nhn:msh'), `${API}/messages`, {
      method: 'POST',
      body: '{}',
    });
    expect(outcome.ok && outcome.result.status).toBe(201);
    expect(calls).toHaveLength(1);
    expect(proofs.map((proof) => decodeJwt(proof).nonce)).toEqual([undefined, 'rs-1']);
    // A later DPoP-Nonce replaces the one held.
    const next = await client.authFor('nhn:msh').authorize({ method: 'GET', url: `${API}/messages` });
    expect(next.ok && decodeJwt(next.headers.dpop ?? '').nonce).toBe('rs-2');
  });

  test('a 401 without a nonce challenge drops the token and sends once more with a fresh one', async () => {
    const { client } = harness();
    discovery();
    const calls = tokenEndpoint();
    const sent: string[] = [];
    nock(API)
      .get('/messages')
      .times(3)
      .reply((request: Request) => {
        sent.push(request.headers.get('authorization') ?? '');
        return [401, '', { 'WWW-Authenticate': 'DPoP error="invalid_token"' }];
      });
    const outcome = await fetchWithFhirAuth(client.authFor('nhn:msh'), `${API}/messages`);
    expect(outcome.ok && outcome.result.status).toBe(401);
    expect(sent).toEqual(['DPoP token-1', 'DPoP token-2']);
    expect(calls).toHaveLength(2);
  });
});

describe('discovery and the token cache', () => {
  test('discovery is read once and kept 24 hours; tokens are cached per audience and scopes', async () => {
    const { client, advance } = harness();
    const read = discovery(2);
    const calls = tokenEndpoint();
    await client.token('nhn:msh');
    await client.token('nhn:msh');
    await client.token('e-helse:ehr');
    expect(calls).toHaveLength(2);
    expect(read.pendingMocks()).toHaveLength(1);
    advance(24 * 60 * 60 * 1000 + 1);
    await client.token('nhn:msh');
    expect(read.isDone()).toBe(true);
  });

  test('a token is replaced the clock skew before it expires', async () => {
    const { client, advance } = harness({ clockSkewS: 20 });
    discovery();
    tokenEndpoint();
    await client.token('nhn:msh');
    advance(279_000);
    expect((await client.token('nhn:msh')).ok && 'cached').toBe('cached');
    advance(1_000);
    const fresh = await client.token('nhn:msh');
    expect(fresh.ok && fresh.accessToken).toBe('token-2');
  });

  test('callers asking at once share one token request', async () => {
    const { client } = harness();
    discovery();
    const calls = tokenEndpoint();
    const auth = client.authFor('nhn:msh');
    const all = await Promise.all([1, 2, 3].map(() => auth.authorize({ method: 'GET', url: `${API}/x` })));
    expect(all.map((got) => got.ok && got.headers.authorization)).toEqual([
      'DPoP token-1',
      'DPoP token-1',
      'DPoP token-1',
    ]);
    expect(calls).toHaveLength(1);
  });

  test('a discovery document naming another issuer is refused', async () => {
    const { client } = harness();
    nock(ISSUER)
      .get('/.well-known/openid-configuration')
      .reply(200, { issuer: 'https://evil.example', token_endpoint: TOKEN_URL });
    const got = await client.token('nhn:msh');
    expect(!got.ok && got.failure.message).toMatch(/names issuer https:\/\/evil\.example, not HELSEID_ISSUER/);
  });

  test('an audience without a configured scope is refused before anything is fetched', async () => {
    const { client } = harness();
    const got = await client.token('nhn:adresseregister');
    expect(!got.ok && got.failure.message).toMatch(/no HelseID scope for audience nhn:adresseregister/);
  });
});

describe('refusals in plain words, without key material', () => {
  test.each([
    ['invalid_client', /^HelseID refused hit-bridge's client assertion \(400 invalid_client: bad signature\)/],
    ['invalid_dpop_proof', /^HelseID refused hit-bridge's DPoP proof \(400 invalid_dpop_proof: bad signature\)/],
    ['unauthorized_client', /^HelseID does not allow hit-bridge's client this grant or these scopes/],
    ['invalid_scope', /^HelseID refused the scopes asked for/],
  ])('%s', async (error, message) => {
    const { client, lines } = harness();
    discovery();
    const calls = tokenEndpoint([[400, { error, error_description: 'bad signature' }]]);
    const got = await client.token('nhn:msh');
    expect(!got.ok && got.failure.message).toMatch(message);
    expect(!got.ok && got.failure.error).toBe(error);
    const logged = lines.join('');
    expect(logged).toContain(error);
    for (const secret of [clientJwk.d, clientJwk.p, calls[0]?.dpop, calls[0]?.form.get('client_assertion')]) {
      expect(logged).not.toContain(String(secret));
    }
  });

  test('a bearer token where a DPoP-bound one was expected is refused', async () => {
    const { client } = harness();
    discovery();
    tokenEndpoint([[200, { access_token: 'plain', token_type: 'Bearer', expires_in: 300 }]]);
    const got = await client.token('nhn:msh');
    expect(!got.ok && got.failure.message).toMatch(/^HelseID issued a Bearer token, not a DPoP-bound one/);
  });

  test('a token obtained is logged with its lifetime, never the token', async () => {
    const { client, lines } = harness();
    discovery();
    tokenEndpoint([[200, { access_token: 'eyJ-secret-token', token_type: 'DPoP', expires_in: 300 }]]);
    await client.token('nhn:msh');
    expect(lines.join('')).toContain('HelseID access token obtained');
    expect(lines.join('')).not.toContain('eyJ-secret-token');
  });
});

describe('dry run', () => {
  test('gives the decoded headers and claims of the assertion and proof it would send, fetching nothing', async () => {
    const { client } = harness();
    const dry = await client.dryRun(TOKEN_URL);
    expect(dry.clientAssertion.header).toMatchObject({ typ: 'client-authentication+jwt', kid: 'hit-bridge-2026-12' });
    expect(dry.clientAssertion.claims).toMatchObject({ aud: ISSUER, iss: 'hit-bridge-client' });
    expect(dry.dpopProof.header).toMatchObject({ typ: 'dpop+jwt' });
    expect(dry.dpopProof.claims).toMatchObject({ htm: 'POST', htu: TOKEN_URL });
    expect(JSON.stringify(dry)).not.toContain(String(clientJwk.d));
  });
});
