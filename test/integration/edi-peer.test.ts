/**
 * The EDI 2.0 peer bites: with a real Keycloak-issued DPoP-bound token, what NHN's OpenAPI and
 * security rules refuse is refused — a missing required header, a body with a property the
 * document does not have, a token sent as Bearer, a proof made for another URL, bytes that are
 * not UTF-8 — while the same request done right is taken (so each refusal is the rule, not noise).
 */
import { createEdiClient } from '../../src/delivery/edi-client.ts';
import { fetchWithFhirAuth, type FhirAuth } from '../../src/delivery/fhir-auth.ts';
import { createHelseIdClient, type HelseIdClient } from '../../src/delivery/helseid.ts';
import { helseIdSettings } from '../../src/delivery/helseid-settings.ts';
import { exampleHandoverMessage } from '../../src/handover/edi/example-handover.ts';
import { loadConfig } from '../../src/platform/config.ts';
import { startEdiPeer, type EdiPeer } from '../peers/edi-peer.ts';
import { EDI_API, startHelseIdPeers, type HelseIdPeers } from '../support/helseid-peers.ts';
import { peerEnv } from '../support/peers-env.ts';
import { silentLogger } from '../support/silent-logger.ts';

const RECEIVER = '8012345';

describe('the EDI 2.0 peer refuses what NHN refuses', () => {
  let helseId: HelseIdPeers;
  let peer: EdiPeer;
  let client: HelseIdClient;
  let auth: FhirAuth;
  let document = '';

  beforeAll(async () => {
    helseId = await startHelseIdPeers({
      keycloakUrl: peerEnv('KEYCLOAK_URL'),
      adminPassword: peerEnv('KEYCLOAK_ADMIN_PASSWORD'),
      ehrUpstream: 'http://127.0.0.1:1/fhir',
    });
    const registered = await helseId.registerClient(300, EDI_API);
    peer = await startEdiPeer({
      issuer: helseId.issuer,
      jwks: `${helseId.issuer}/protocol/openid-connect/certs`,
      receivers: [RECEIVER],
    });
    const loaded = loadConfig({
      AUTH_MODE: 'off',
      HELSEID_ISSUER: helseId.issuer,
      HELSEID_CLIENT_ID: registered.clientId,
      HELSEID_PRIVATE_KEY: JSON.stringify(registered.jwk),
      HELSEID_SCOPES: EDI_API.scope,
    });
    if (!loaded.ok) throw new Error(loaded.errors.join('; '));
    const settings = helseIdSettings(loaded.config);
    if (settings === undefined) throw new Error('no HelseID settings');
    client = createHelseIdClient(settings, { logger: silentLogger, timeoutMs: 10_000 });
    auth = client.authFor(EDI_API.audience);
    document = (await exampleHandoverMessage()).xml;
  }, 120_000);

  afterAll(async () => {
    await peer.stop();
    await helseId.stop();
  });

  const body = (xml: string | Uint8Array, extra: Record<string, unknown> = {}): string =>
    JSON.stringify({
      businessDocument: Buffer.from(xml).toString('base64'),
      contentType: 'application/xml',
      contentTransferEncoding: 'base64',
      ...extra,
    });

  async function post(headers: Record<string, string>, payload: string): Promise<Response> {
    const answered = await fetchWithFhirAuth(auth, `${peer.url}/Messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: payload,
    });
    if (!answered.ok) throw new Error(answered.failure.message);
    return answered.result;
  }

  const HEADERS = { 'api-version': '2', 'nhn-source-system': 'hit-bridge, v0.1.0' };

  it('takes a well-formed message with both headers and a DPoP-bound token (the baseline)', async () => {
    const sent = await createEdiClient({
      baseUrl: peer.url,
      sourceSystem: 'hit-bridge, v0.1.0',
      auth,
      timeoutMs: 10_000,
    }).send({
      businessDocument: document,
    });
    expect(sent.ok).toBe(true);
    const response = await post(HEADERS, body(document));
    expect(response.status).toBe(201);
  });

  it('refuses a request without the nhn-source-system header (400, by the OpenAPI)', async () => {
    const response = await post({ 'api-version': '2' }, body(document));
    expect(response.status).toBe(400);
    expect(JSON.stringify(await response.json())).toContain('nhn-source-system');
  });

  it('refuses a body with a property the OpenAPI does not have (400)', async () => {
    const response = await post(HEADERS, body(document, { priority: 'high' }));
    expect(response.status).toBe(400);
    expect(JSON.stringify(await response.json())).toContain('priority');
  });

  it('refuses a business document that is not UTF-8 (400)', async () => {
    const latin1 = Buffer.from(document.replace('Frisklivssentralen', 'Frisklivssentralen på Ørland'), 'latin1');
    const response = await post(HEADERS, body(latin1));
    expect(response.status).toBe(400);
  });

  it('refuses the token sent as Bearer (401)', async () => {
    const token = await client.token(EDI_API.audience);
    if (!token.ok) throw new Error('no token');
    const response = await fetch(`${peer.url}/Messages`, {
      method: 'POST',
      headers: { ...HEADERS, 'content-type': 'application/json', authorization: `Bearer ${token.accessToken}` },
      body: body(document),
    });
    expect(response.status).toBe(401);
  });

  it('refuses a DPoP proof made for another URL (401)', async () => {
    const signed = await auth.authorize({ method: 'POST', url: `${peer.url}/Messages/elsewhere` });
    if (!signed.ok) throw new Error(signed.failure.message);
    const response = await fetch(`${peer.url}/Messages`, {
      method: 'POST',
      headers: { ...HEADERS, 'content-type': 'application/json', ...signed.headers },
      body: body(document),
    });
    expect(response.status).toBe(401);
    expect(peer.refusals.some((r) => r.includes('the proof is for URL'))).toBe(true);
  });
});
