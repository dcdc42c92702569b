// Bearer tokens on /v1, against a stand-in issuer on loopback (keys made here, JWKS over HTTP):
// every way a token can be wrong is refused with the RFC 6750 answer, and a good one goes through.
import { Writable } from 'node:stream';
import express from 'express';
import { SignJWT, UnsecuredJWT } from 'jose';
import request from 'supertest';
import { DEFAULT_MAPPING_OPTIONS } from '../../../mappings/common.ts';
import { createApp } from '../../../src/intake/app.ts';
import { authenticate, createJwtVerifier, type InboundAuth } from '../../../src/intake/auth.ts';
import { callerOf, clientIdOf } from '../../../src/intake/caller.ts';
import { loadContracts } from '../../../src/intake/contracts.ts';
import { scopeFor } from '../../../src/intake/scopes.ts';
import { createLogger } from '../../../src/platform/logger.ts';
import { createMetrics } from '../../../src/platform/metrics.ts';
import { startTestIssuer, type TestIssuer } from '../../support/jwt-issuer.ts';
import { EXAMPLES } from './examples.ts';

const contracts = loadContracts();
let issuer: TestIssuer;

beforeAll(async () => {
  issuer = await startTestIssuer();
});
afterAll(async () => {
  await issuer.close();
});

function logCapture() {
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

function jwtAuth(overrides: { jwksUrl?: string | undefined; clockSkewSeconds?: number } = {}): InboundAuth {
  return {
    mode: 'jwt',
    verify: createJwtVerifier({
      issuer: issuer.issuer,
      audience: issuer.audience,
      jwksUrl: 'jwksUrl' in overrides ? overrides.jwksUrl : issuer.jwksUrl,
      clockSkewSeconds: overrides.clockSkewSeconds ?? 30,
      logger: createLogger({ level: 'silent', pretty: false }),
    }),
  };
}

function appWith(auth: InboundAuth) {
  const logs = logCapture();
  const app = createApp({
    logger: logs.logger,
    auth,
    readiness: [],
    readinessTimeoutMs: 100,
    metrics: createMetrics({ defaultMetrics: false }),
    contracts,
    mappingOptions: DEFAULT_MAPPING_OPTIONS,
    bodyLimitBytes: 256 * 1024,
  });
  return { app, logs };
}

const preview = (app: express.Express, token?: string) => {
  const call = request(app).post('/v1/preview/hit-sessions');
  return (token === undefined ? call : call.set('Authorization', `Bearer ${token}`)).send(EXAMPLES['hit-sessions']);
};

const nowSeconds = () => Math.floor(Date.now() / 1000);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function expectInvalidToken(response: request.Response, description = 'The access token is not valid'): void {
  expect(response.status).toBe(401);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.headers['www-authenticate']).toBe(
    `Bearer realm="hit-bridge", error="invalid_token", error_description="${description}", scope="hit.write"`,
  );
  expect((response.body as { status: number }).status).toBe(401);
}

describe('a request to /v1 without a usable bearer token', () => {
  it('without an Authorization header is answered 401 with a challenge carrying no error code (RFC 6750 §3.1)', async () => {
    const { app } = appWith(jwtAuth());
    const response = await preview(app);
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer realm="hit-bridge", scope="hit.write"');
    expect(response.body).toMatchObject({ type: 'https://hit-bridge.no/problems/unauthorized', status: 401 });
  });

  it('with another scheme (Basic) is answered as if it had no token', async () => {
    const { app } = appWith(jwtAuth());
    const response = await request(app)
      .post('/v1/preview/hit-sessions')
      .set('Authorization', 'Basic Y2xpbmljOnNlY3JldA==')
      .send(EXAMPLES['hit-sessions']);
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer realm="hit-bridge", scope="hit.write"');
  });

  it('with a token that is not even a JWT is answered 401 invalid_token', async () => {
    const { app } = appWith(jwtAuth());
    expectInvalidToken(await preview(app, 'not-a-jwt'));
    const spaces = await request(app).post('/v1/preview/hit-sessions').set('Authorization', 'Bearer a b');
    expectInvalidToken(spaces);
  });

  it('with an expired token is answered 401 invalid_token saying it expired', async () => {
    const { app } = appWith(jwtAuth());
    const token = await issuer.token({ claims: { exp: nowSeconds() - 120, iat: nowSeconds() - 600 } });
    expectInvalidToken(await preview(app, token), 'The access token expired');
  });

  it('with a token expired less than AUTH_CLOCK_SKEW_SECONDS ago accepts it, and not once the skew is 0', async () => {
    const token = await issuer.token({ claims: { exp: nowSeconds() - 10 } });
    expect((await preview(appWith(jwtAuth({ clockSkewSeconds: 30 })).app, token)).status).toBe(200);
    expectInvalidToken(await preview(appWith(jwtAuth({ clockSkewSeconds: 0 })).app, token), 'The access token expired');
  });

  it('with a token not valid yet (nbf beyond the skew) is answered 401', async () => {
    const { app } = appWith(jwtAuth());
    expectInvalidToken(await preview(app, await issuer.token({ claims: { nbf: nowSeconds() + 300 } })));
  });

  it('with a token for another audience is answered 401', async () => {
    const { app } = appWith(jwtAuth());
    expectInvalidToken(await preview(app, await issuer.token({ claims: { aud: 'some-other-api' } })));
  });

  it('with a token from another issuer is answered 401', async () => {
    const { app } = appWith(jwtAuth());
    expectInvalidToken(
      await preview(app, await issuer.token({ claims: { iss: 'https://idp.example.no/realms/evil' } })),
    );
  });

  it('with a token without exp is answered 401 (a token that never expires is not accepted)', async () => {
    const { app } = appWith(jwtAuth());
    const token = await issuer.token({ claims: { exp: undefined } });
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { exp?: number };
    expect(payload.exp).toBeUndefined();
    expectInvalidToken(await preview(app, token));
  });

  it("with alg none (unsigned) is answered 401, even with the issuer's claims", async () => {
    const { app } = appWith(jwtAuth());
    const unsigned = new UnsecuredJWT({ scope: 'hit.write', azp: 'clinic' })
      .setIssuer(issuer.issuer)
      .setAudience(issuer.audience)
      .setExpirationTime('5m')
      .encode();
    expectInvalidToken(await preview(app, unsigned));
    // The same with the header spelled by hand and a signature part left in.
    const forged = `${b64({ alg: 'none', typ: 'JWT', kid: 'test-key-1' })}.${unsigned.split('.')[1] ?? ''}.c2ln`;
    expectInvalidToken(await preview(app, forged));
  });

  it('with a token signed by a key the issuer does not publish (same kid) is answered 401', async () => {
    const { app } = appWith(jwtAuth());
    expectInvalidToken(await preview(app, await issuer.tokenFromAnotherKey()));
  });

  it("with an HS256 token whose secret is the issuer's public key is answered 401", async () => {
    const { app } = appWith(jwtAuth());
    for (const secret of [issuer.publicPem, JSON.stringify(issuer.publicJwk)]) {
      const forged = await new SignJWT({ scope: 'hit.write', azp: 'clinic' })
        .setProtectedHeader({ alg: 'HS256', kid: 'test-key-1' })
        .setIssuer(issuer.issuer)
        .setAudience(issuer.audience)
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(secret));
      expectInvalidToken(await preview(app, forged));
    }
  });

  it('with a token naming no client (no client_id, no azp) is answered 401', async () => {
    const { app } = appWith(jwtAuth());
    expectInvalidToken(await preview(app, await issuer.token({ claims: { azp: undefined } })));
  });

  it('never repeats the token, and logs why it was refused without the token', async () => {
    const { app, logs } = appWith(jwtAuth());
    const token = await issuer.token({ claims: { aud: 'some-other-api' } });
    const response = await preview(app, token);
    expect(response.text).not.toContain(token);
    expect(JSON.stringify(response.headers)).not.toContain(token.split('.')[1]);
    expect(logs.text()).toContain('ERR_JWT_CLAIM_VALIDATION_FAILED aud');
    expect(logs.text()).not.toContain(token.split('.')[1]);
  });
});

describe('scopes per route', () => {
  it('a token without the route scope is answered 403 insufficient_scope naming the scope', async () => {
    const { app } = appWith(jwtAuth());
    const response = await preview(app, await issuer.token({ scope: 'hit.read handover.ack' }));
    expect(response.status).toBe(403);
    expect(response.headers['www-authenticate']).toBe(
      'Bearer realm="hit-bridge", error="insufficient_scope", error_description="The access token does not grant the scope hit.write", scope="hit.write"',
    );
    expect(response.body).toMatchObject({ type: 'https://hit-bridge.no/problems/forbidden', status: 403 });
  });

  it('reading a submission needs hit.read: hit.write alone is refused', async () => {
    const { app } = appWith(jwtAuth());
    const id = '00000000-0000-4000-8000-000000000000';
    const writeOnly = await issuer.token({ scope: 'hit.write' });
    const refused = await request(app).get(`/v1/submissions/${id}`).set('Authorization', `Bearer ${writeOnly}`);
    expect(refused.status).toBe(403);
    expect(refused.headers['www-authenticate']).toContain('scope="hit.read"');
  });

  it('reads scopes from scp as a list too', async () => {
    const { app } = appWith(jwtAuth());
    const token = await issuer.token({ scope: '', claims: { scope: undefined, scp: ['hit.write'] } });
    expect((await preview(app, token)).status).toBe(200);
  });

  it('maps every route to its scope, and anything else under /v1 to admin', () => {
    expect(scopeFor('/v1/hit-sessions')).toBe('hit.write');
    expect(scopeFor('/v1/fitness-tests')).toBe('hit.write');
    expect(scopeFor('/v1/prescriptions')).toBe('hit.write');
    expect(scopeFor('/v1/discharges')).toBe('hit.write');
    expect(scopeFor('/v1/preview/prescriptions')).toBe('hit.write');
    expect(scopeFor('/v1/submissions/1f0e')).toBe('hit.read');
    expect(scopeFor('/v1/handover-acknowledgements')).toBe('handover.ack');
    expect(scopeFor('/v1/replay')).toBe('admin');
    expect(scopeFor('/v1/submissions/1f0e/replay')).toBe('admin');
    expect(scopeFor('/v1/hit-sessions/extra')).toBe('admin');
  });

  it('an unlisted /v1 path is closed to a clinic token (403) and only an admin token learns it does not exist (404)', async () => {
    const { app } = appWith(jwtAuth());
    const clinic = await issuer.token({ scope: 'hit.write hit.read' });
    expect((await request(app).get('/v1/unknown').set('Authorization', `Bearer ${clinic}`)).status).toBe(403);
    const admin = await issuer.token({ scope: 'admin' });
    expect((await request(app).get('/v1/unknown').set('Authorization', `Bearer ${admin}`)).status).toBe(404);
  });
});

describe('a valid token', () => {
  it('is accepted: the route answers as it would without authentication', async () => {
    const { app } = appWith(jwtAuth());
    const response = await preview(app, await issuer.token({ scope: 'hit.write' }));
    expect(response.status).toBe(200);
    expect((response.body as { resourceType: string }).resourceType).toBe('Bundle');
  });

  it('puts the client id (azp, or client_id first when both are there) and scopes on the request for what follows', async () => {
    const app = express();
    app.use((_req, res, next) => {
      res.locals.log = createLogger({ level: 'silent', pretty: false });
      next();
    });
    app.use('/v1', authenticate(jwtAuth()));
    app.post('/v1/hit-sessions', (_req, res) => {
      res.json({ clientId: clientIdOf(res), scopes: [...(callerOf(res)?.scopes ?? [])] });
    });
    const viaAzp = await request(app)
      .post('/v1/hit-sessions')
      .set('Authorization', `Bearer ${await issuer.token({ clientId: 'clinic-a', scope: 'hit.write hit.read' })}`);
    expect(viaAzp.body).toEqual({ clientId: 'clinic-a', scopes: ['hit.write', 'hit.read'] });
    const viaClientId = await request(app)
      .post('/v1/hit-sessions')
      .set(
        'Authorization',
        `Bearer ${await issuer.token({ clientId: 'azp-client', scope: 'hit.write', claims: { client_id: 'clinic-b' } })}`,
      );
    expect((viaClientId.body as { clientId: string }).clientId).toBe('clinic-b');
  });

  it('costs one JWKS fetch for many requests (the key set is cached)', async () => {
    const { app } = appWith(jwtAuth());
    const before = issuer.jwksFetches();
    const token = await issuer.token({ scope: 'hit.write' });
    for (let i = 0; i < 5; i += 1) expect((await preview(app, token)).status).toBe(200);
    expect(issuer.jwksFetches() - before).toBe(1);
  });

  it('is verified against the key set OpenID discovery names when AUTH_JWKS_URL is unset', async () => {
    const { app } = appWith(jwtAuth({ jwksUrl: undefined }));
    expect((await preview(app, await issuer.token({ scope: 'hit.write' }))).status).toBe(200);
  });

  it('cannot be verified while the key set is out of reach: 503 with Retry-After, not a 401 that would discard it', async () => {
    const { app } = appWith(jwtAuth({ jwksUrl: 'http://127.0.0.1:9/jwks' }));
    const response = await preview(app, await issuer.token({ scope: 'hit.write' }));
    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBe('5');
  });
});

describe('routes open without a token, and AUTH_MODE=off', () => {
  it('serves /healthz, /readyz and /openapi.json without a token', async () => {
    const { app } = appWith(jwtAuth());
    for (const path of ['/healthz', '/readyz', '/openapi.json']) {
      expect((await request(app).get(path)).status).toBe(200);
    }
  });

  it('answers another method on an open route 405 with Allow, without asking for a token', async () => {
    const { app } = appWith(jwtAuth());
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json']) {
      const response = await request(app).post(path);
      expect([path, response.status, response.headers.allow]).toEqual([path, 405, 'GET, HEAD']);
    }
  });

  it('with AUTH_MODE=off lets /v1 through as an anonymous caller', async () => {
    const { app } = appWith({ mode: 'off' });
    expect((await preview(app)).status).toBe(200);
  });
});
