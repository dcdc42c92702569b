/**
 * The realm the tests' authorization server (Keycloak) serves, generated here rather than kept as
 * an exported JSON file, so that secrets and keys are fresh per run and the clients' shapes can
 * be reused by tests that add a client of their own (through the admin REST API).
 *
 * - `clinic`: the clinic system calling hit-bridge's HTTP API (inbound). Client credentials with
 *   a client secret; scopes hit.write, hit.read, handover.ack by default and admin on request;
 *   tokens carry aud = `hit-bridge`.
 * - `clinic-readonly`: like `clinic` but with hit.read only (no hit.write, handover.ack or admin),
 *   for the tests that show a valid token with too little scope is refused.
 * - `hit-bridge`: hit-bridge calling the EHR (outbound), SMART Backend Services style: client
 *   credentials authenticated by a JWT it signs (private_key_jwt, ES384 or RS384), verified with
 *   the public JWKS registered on the client; tokens carry aud = the EHR's audience.
 * - HelseID-style clients (helseIdClient, registered by the tests that need one): private_key_jwt
 *   with the assertion's aud = the realm's issuer, and every token DPoP-bound
 *   (`dpop.bound.access.tokens`); protocol mappers give the token the audience and the
 *   organisation claims a Norwegian API reads, as HelseID's tokens carry them.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, type JWK } from 'jose';

export const REALM = 'hit-bridge';
/** The `aud` of tokens for hit-bridge's own API. */
export const API_AUDIENCE = 'hit-bridge';
/** The `aud` the test EHR (HAPI's /secured/fhir) requires. */
export const EHR_AUDIENCE = 'test-ehr';
/** The SMART scope hit-bridge asks for by default (EHR_SCOPES). */
export const EHR_SCOPE = 'system/*.write';
/** The HelseID-style audience and scope of the DPoP-secured test EHR (`<audience>/<scope>`, as HelseID names them). */
export const HELSEID_EHR_AUDIENCE = 'e-helse:test-ehr';
export const HELSEID_EHR_SCOPE = `${HELSEID_EHR_AUDIENCE}/fhir`;
export const INBOUND_SCOPES = ['hit.write', 'hit.read', 'handover.ack', 'admin'] as const;
type InboundScope = (typeof INBOUND_SCOPES)[number];

type Json = Record<string, unknown>;

function clientScope(name: string, mappers: Json[] = []): Json {
  return {
    name,
    protocol: 'openid-connect',
    attributes: { 'include.in.token.scope': 'true', 'display.on.consent.screen': 'false' },
    protocolMappers: mappers,
  };
}

function audienceMapper(audience: string): Json {
  return {
    name: `audience ${audience}`,
    protocol: 'openid-connect',
    protocolMapper: 'oidc-audience-mapper',
    config: {
      'included.custom.audience': audience,
      'access.token.claim': 'true',
      'id.token.claim': 'false',
      'introspection.token.claim': 'true',
    },
  };
}

/** A client that only ever acts for itself: no browser flows, no users, a service account. */
function machineClient(clientId: string): Json {
  return {
    clientId,
    enabled: true,
    protocol: 'openid-connect',
    publicClient: false,
    serviceAccountsEnabled: true,
    standardFlowEnabled: false,
    implicitFlowEnabled: false,
    directAccessGrantsEnabled: false,
    fullScopeAllowed: false,
  };
}

/** Inbound scopes a clinic client's tokens carry unless the client is given fewer. */
export const CLINIC_DEFAULT_SCOPES = ['hit.write', 'hit.read', 'handover.ack'] as const;

export function clinicClient(options: { clientId: string; secret: string; scopes?: readonly InboundScope[] }): Json {
  const scopes: readonly InboundScope[] = options.scopes ?? CLINIC_DEFAULT_SCOPES;
  return {
    ...machineClient(options.clientId),
    clientAuthenticatorType: 'client-secret',
    secret: options.secret,
    // Default scopes are always granted (asking for fewer does not drop them), so a client with
    // less authority has to be a client of its own.
    defaultClientScopes: ['basic', ...scopes],
    optionalClientScopes: scopes.includes('admin') ? [] : ['admin'],
    protocolMappers: [audienceMapper(API_AUDIENCE)],
  };
}

export interface BridgeClientOptions {
  readonly clientId: string;
  /** The public keys hit-bridge's client assertions are verified with. */
  readonly jwks: { keys: JWK[] };
  readonly algorithm: 'ES384' | 'RS384';
  /** Seconds an access token lives; short in the tests that watch it expire. */
  readonly accessTokenLifespanS: number;
}

export function bridgeClient(options: BridgeClientOptions): Json {
  return {
    ...machineClient(options.clientId),
    clientAuthenticatorType: 'client-jwt',
    attributes: {
      'use.jwks.url': 'false',
      'use.jwks.string': 'true',
      'jwks.string': JSON.stringify(options.jwks),
      'token.endpoint.auth.signing.alg': options.algorithm,
      'access.token.lifespan': String(options.accessTokenLifespanS),
    },
    defaultClientScopes: ['basic'],
    optionalClientScopes: [EHR_SCOPE],
    protocolMappers: [audienceMapper(EHR_AUDIENCE)],
  };
}

export interface HelseIdClientOptions {
  readonly clientId: string;
  /** The client's public JWK (with kid and alg), as registered in HelseID's self-service. */
  readonly jwks: { keys: JWK[] };
  readonly algorithm: string;
  readonly accessTokenLifespanS: number;
  /** Organisation numbers the token names, as HelseID's client claims do. */
  readonly parentOrganisation: string;
  readonly childOrganisation: string;
  /** The API the tokens are for (`aud`) and the scope asked for; default the test EHR's. */
  readonly audience?: string;
  readonly scope?: string;
}

/** A claim Keycloak puts in every access token of the client, whatever was asked. */
function hardcodedClaim(name: string, value: string): Json {
  return {
    name: `claim ${name}`,
    protocol: 'openid-connect',
    protocolMapper: 'oidc-hardcoded-claim-mapper',
    config: {
      'claim.name': name,
      'claim.value': value,
      'jsonType.label': 'String',
      'access.token.claim': 'true',
      'id.token.claim': 'false',
      'introspection.token.claim': 'true',
    },
  };
}

export function helseIdClient(options: HelseIdClientOptions): Json {
  return {
    ...machineClient(options.clientId),
    clientAuthenticatorType: 'client-jwt',
    attributes: {
      'use.jwks.url': 'false',
      'use.jwks.string': 'true',
      'jwks.string': JSON.stringify(options.jwks),
      'token.endpoint.auth.signing.alg': options.algorithm,
      'access.token.lifespan': String(options.accessTokenLifespanS),
      'dpop.bound.access.tokens': 'true',
    },
    defaultClientScopes: ['basic'],
    optionalClientScopes: [options.scope ?? HELSEID_EHR_SCOPE],
    protocolMappers: [
      audienceMapper(options.audience ?? HELSEID_EHR_AUDIENCE),
      hardcodedClaim('helseid://claims/client/claims/orgnr_parent', options.parentOrganisation),
      hardcodedClaim('helseid://claims/client/claims/orgnr_child', options.childOrganisation),
    ],
  };
}

/** A realm-level scope HelseID-style clients ask for (also created by tests on an older realm). */
export const helseIdScope = (name: string = HELSEID_EHR_SCOPE): Json => clientScope(name);

/** The public JWKS of a private key, with the RFC 7638 thumbprint as kid (as hit-bridge sends it). */
export async function publicJwks(privateKey: KeyObject, algorithm: 'ES384' | 'RS384'): Promise<{ keys: JWK[] }> {
  const jwk = await exportJWK(createPublicKey(privateKey));
  return { keys: [{ ...jwk, kid: await calculateJwkThumbprint(jwk), alg: algorithm, use: 'sig' }] };
}

export function realmRepresentation(clients: readonly Json[]): Json {
  return {
    realm: REALM,
    enabled: true,
    accessTokenLifespan: 300,
    sslRequired: 'none',
    // Token requests are visible through the admin API (GET …/events), so tests can count them.
    eventsEnabled: true,
    enabledEventTypes: ['CLIENT_LOGIN', 'CLIENT_LOGIN_ERROR'],
    eventsExpiration: 3600,
    // Tokens carry sub (the service account) only through this scope (Keycloak 25+).
    clientScopes: [
      {
        name: 'basic',
        protocol: 'openid-connect',
        attributes: { 'include.in.token.scope': 'false', 'display.on.consent.screen': 'false' },
        protocolMappers: [
          {
            name: 'sub',
            protocol: 'openid-connect',
            protocolMapper: 'oidc-sub-mapper',
            config: { 'access.token.claim': 'true', 'introspection.token.claim': 'true' },
          },
        ],
      },
      ...INBOUND_SCOPES.map((scope) => clientScope(scope)),
      clientScope(EHR_SCOPE),
      helseIdScope(),
    ],
    defaultDefaultClientScopes: ['basic'],
    clients,
  };
}
