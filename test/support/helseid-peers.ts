/**
 * The HelseID setting on the real peers, for the tests that send to the EHR the HelseID way:
 * Keycloak behind the nonce-demanding front (the token endpoint HelseID-like), and HAPI behind
 * the DPoP front (an NHN-style API). Clients are registered through Keycloak's admin REST API,
 * one per test, each with a fresh RSA key (PS256) as HelseID's self-service would hand out.
 */
import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { JWK } from 'jose';
import { startDpopFront, type DpopFront } from '../peers/dpop-front.ts';
import { adminToken } from '../peers/keycloak.ts';
import {
  HELSEID_EHR_AUDIENCE,
  HELSEID_EHR_SCOPE,
  helseIdClient,
  helseIdScope,
  REALM,
} from '../peers/keycloak-realm.ts';
import { startNonceFront, type NonceFront } from '../peers/nonce-front.ts';

export const PARENT_ORGNR = '999999999';
export const CHILD_ORGNR = '888888888';

export interface HelseIdTestClient {
  readonly clientId: string;
  /** The private JWK as HELSEID_PRIVATE_KEY holds it. */
  readonly jwk: JWK;
}

/** An NHN-style API a client may be registered for: its audience and scope. */
export interface HelseIdApi {
  readonly audience: string;
  readonly scope: string;
}

/** NHN's message service (EDI 2.0), as HelseID names it. */
export const EDI_API: HelseIdApi = { audience: 'nhn:msh', scope: 'nhn:msh/api' };

export interface HelseIdPeers {
  /** The realm's issuer as hit-bridge sees it: through the nonce front. */
  readonly issuer: string;
  readonly nonceFront: NonceFront;
  /** The DPoP-secured EHR (HAPI behind the DPoP check). */
  readonly ehr: DpopFront;
  /** A client for the test EHR's API, or for another (NHN's message service: `EDI_API`). */
  registerClient(accessTokenLifespanS?: number, api?: HelseIdApi): Promise<HelseIdTestClient>;
  /** Token requests Keycloak granted this client, from its own event log. */
  tokensIssued(client: HelseIdTestClient): Promise<number>;
  /** The configuration that sends to the DPoP-secured EHR as this client. */
  env(client: HelseIdTestClient): Record<string, string>;
  stop(): Promise<void>;
}

export async function startHelseIdPeers(options: {
  readonly keycloakUrl: string;
  readonly adminPassword: string;
  /** HAPI's open FHIR base URL. */
  readonly ehrUpstream: string;
}): Promise<HelseIdPeers> {
  const admin = async (method: string, path: string, body?: unknown): Promise<Response> => {
    const token = await adminToken(options.keycloakUrl, options.adminPassword);
    return fetch(`${options.keycloakUrl}/admin/realms/${REALM}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  };
  const events = await admin('PUT', '/events/config', {
    eventsEnabled: true,
    enabledEventTypes: ['CLIENT_LOGIN', 'CLIENT_LOGIN_ERROR'],
    eventsExpiration: 3600,
  });
  if (events.status !== 204) throw new Error(`enabling Keycloak's events answered ${events.status}`);
  // A realm made before the HelseID-style scope existed gets it here (409: it is there already).
  for (const name of [HELSEID_EHR_SCOPE, EDI_API.scope]) {
    const scope = await admin('POST', '/client-scopes', helseIdScope(name));
    if (scope.status !== 201 && scope.status !== 409) throw new Error(`creating the scope answered ${scope.status}`);
  }

  const nonceFront = await startNonceFront({ upstream: options.keycloakUrl });
  const issuer = `${nonceFront.url}/realms/${REALM}`;
  const ehr = await startDpopFront({
    upstream: options.ehrUpstream,
    issuer,
    jwks: `${issuer}/protocol/openid-connect/certs`,
    audience: HELSEID_EHR_AUDIENCE,
  });

  return {
    issuer,
    nonceFront,
    ehr,
    async registerClient(
      accessTokenLifespanS = 300,
      api: HelseIdApi = { audience: HELSEID_EHR_AUDIENCE, scope: HELSEID_EHR_SCOPE },
    ) {
      const clientId = `helseid-it-${randomBytes(4).toString('hex')}`;
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const kid = `${clientId}-key`;
      const jwk: JWK = { ...(privateKey.export({ format: 'jwk' }) as JWK), kid, alg: 'PS256' };
      const publicJwk = { ...(createPublicKey(privateKey).export({ format: 'jwk' }) as JWK), kid, alg: 'PS256' };
      const created = await admin(
        'POST',
        '/clients',
        helseIdClient({
          clientId,
          jwks: { keys: [{ ...publicJwk, use: 'sig' }] },
          algorithm: 'PS256',
          accessTokenLifespanS,
          audience: api.audience,
          scope: api.scope,
          parentOrganisation: PARENT_ORGNR,
          childOrganisation: CHILD_ORGNR,
        }),
      );
      if (created.status !== 201) throw new Error(`registering ${clientId} answered ${created.status}`);
      return { clientId, jwk };
    },
    async tokensIssued(client) {
      const response = await admin('GET', `/events?client=${client.clientId}&type=CLIENT_LOGIN&max=1000`);
      if (response.status !== 200) throw new Error(`Keycloak's events answered ${response.status}`);
      return ((await response.json()) as unknown[]).length;
    },
    env(client) {
      return {
        EHR_BASE_URL: ehr.url,
        EHR_AUTH_MODE: 'helseid',
        HELSEID_ISSUER: issuer,
        HELSEID_CLIENT_ID: client.clientId,
        HELSEID_PRIVATE_KEY: JSON.stringify(client.jwk),
        HELSEID_SCOPES: HELSEID_EHR_SCOPE,
        HELSEID_EHR_AUDIENCE: HELSEID_EHR_AUDIENCE,
        HELSEID_PARENT_ORGNR: PARENT_ORGNR,
        HELSEID_CHILD_ORGNR: CHILD_ORGNR,
      };
    },
    async stop() {
      await ehr.stop();
      await nonceFront.stop();
    },
  };
}
