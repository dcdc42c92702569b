/**
 * Inbound authentication against a real authorization server: the service runs with
 * AUTH_MODE=jwt trusting the test Keycloak (test/peers/keycloak.ts), and the clinic's tokens are
 * fetched from it by client credentials — no locally minted tokens. The JWKS is found by OpenID
 * discovery at the issuer, as a hospital deployment without AUTH_JWKS_URL would.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/platform/config.ts';
import { startService, type RunningService } from '../../src/service.ts';
import { fixtureCases, readInput } from '../support/fixtures.ts';
import { peerEnv } from '../support/peers-env.ts';
import { silentLogger } from '../support/silent-logger.ts';

interface TokenResponse {
  access_token: string;
  scope?: string;
}

/** A token from Keycloak for a confidential client (client credentials, client_secret_post). */
async function clientToken(clientId: string, secret: string): Promise<TokenResponse> {
  const response = await fetch(peerEnv('KEYCLOAK_TOKEN_URL'), {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }),
    signal: AbortSignal.timeout(30_000),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as TokenResponse;
}

/** The same token with one byte of its signature changed: still well-formed, no longer signed by Keycloak. */
function flipSignatureByte(token: string): string {
  const [header = '', payload = '', signature = ''] = token.split('.');
  const bytes = Buffer.from(signature, 'base64url');
  bytes[0] = (bytes[0] ?? 0) ^ 0x01;
  return `${header}.${payload}.${bytes.toString('base64url')}`;
}

function bearer(token: string | undefined): Record<string, string> {
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}

describe('inbound authentication with tokens from a real authorization server (Keycloak)', () => {
  const source = `it-auth-${randomBytes(4).toString('hex')}`;
  const [hitSession] = fixtureCases(['hit-sessions']);
  let service: RunningService;
  let clinic: TokenResponse;
  let readonly: TokenResponse;

  async function postSession(token: string | undefined): Promise<Response> {
    if (hitSession === undefined) throw new Error('no HIT session fixture');
    return fetch(`${service.url}/v1/hit-sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(token) },
      // A source per post: the same input posted twice is a replay (200), not a new submission.
      body: JSON.stringify({ ...readInput(hitSession), source: `${source}-${randomBytes(4).toString('hex')}` }),
    });
  }

  beforeAll(async () => {
    const loaded = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: mkdtempSync(join(tmpdir(), 'hit-bridge-auth-keycloak-')),
      PATIENT_KEY_SECRET: 'auth-keycloak-test-secret-0123456789',
      EHR_BASE_URL: peerEnv('EHR_BASE_URL'),
      LOG_LEVEL: 'silent',
      AUTH_MODE: 'jwt',
      AUTH_ISSUER: peerEnv('KEYCLOAK_ISSUER'),
      AUTH_AUDIENCE: peerEnv('KEYCLOAK_API_AUDIENCE'),
    });
    if (!loaded.ok) throw new Error(loaded.errors.join('; '));
    service = await startService(loaded.config, silentLogger);
    clinic = await clientToken(peerEnv('KEYCLOAK_CLINIC_CLIENT_ID'), peerEnv('KEYCLOAK_CLINIC_CLIENT_SECRET'));
    readonly = await clientToken(
      peerEnv('KEYCLOAK_CLINIC_READONLY_CLIENT_ID'),
      peerEnv('KEYCLOAK_CLINIC_READONLY_CLIENT_SECRET'),
    );
  });

  afterAll(async () => {
    await service.stop();
  });

  it("accepts a HIT session (202) and serves its status (200) with the clinic client's token", async () => {
    expect(clinic.scope?.split(' ')).toEqual(expect.arrayContaining(['hit.write', 'hit.read']));
    const posted = await postSession(clinic.access_token);
    expect(posted.status).toBe(202);
    const { id } = (await posted.json()) as { id: string };

    const status = await fetch(`${service.url}/v1/submissions/${id}`, { headers: bearer(clinic.access_token) });
    expect(status.status).toBe(200);
    expect(((await status.json()) as { status: string }).status).toEqual(expect.any(String));
  });

  it('answers a request without a token 401 with a Bearer challenge and no error code', async () => {
    const response = await postSession(undefined);
    expect(response.status).toBe(401);
    const challenge = response.headers.get('www-authenticate') ?? '';
    expect(challenge).toMatch(/^Bearer /);
    expect(challenge).not.toContain('error=');
    expect(response.headers.get('content-type')).toContain('application/problem+json');
  });

  it('refuses a valid Keycloak token without hit.write 403 insufficient_scope, yet lets it read status', async () => {
    const granted = readonly.scope?.split(' ') ?? [];
    expect(granted).toContain('hit.read');
    expect(granted).not.toContain('hit.write');

    const response = await postSession(readonly.access_token);
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer .*error="insufficient_scope".*scope="hit.write"/);

    // The same token is good for what it does grant: the refusal is the scope, not the token.
    const posted = await postSession(clinic.access_token);
    expect(posted.status).toBe(202);
    const { id } = (await posted.json()) as { id: string };
    const status = await fetch(`${service.url}/v1/submissions/${id}`, { headers: bearer(readonly.access_token) });
    expect(status.status).toBe(200);
  });

  it("refuses the clinic's token with one signature byte flipped 401 invalid_token", async () => {
    const response = await postSession(flipSignatureByte(clinic.access_token));
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer .*error="invalid_token"/);
    // Untouched, the same token passes: the flipped byte, nothing else, is what was refused.
    expect((await postSession(clinic.access_token)).status).toBe(202);
  });
});
