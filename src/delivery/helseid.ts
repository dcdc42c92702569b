/**
 * The HelseID client: client credentials with a signed client assertion (private_key_jwt) and
 * DPoP-bound access tokens, as NHN's reference client does it (docs/reference/helseid.md §1–§3).
 * One client per process serves every audience (the EHR, NHN's APIs): `authFor(audience)` is the
 * outbound-auth port for one audience, asking for the configured scopes of that audience.
 *
 * - Endpoints come from `<issuer>/.well-known/openid-configuration`, read when first needed and
 *   kept 24 hours; the document must name the configured issuer.
 * - Tokens are cached per audience and scopes until `clockSkewS` before they expire; callers
 *   asking at once share one token request.
 * - A DPoP nonce demanded by the token endpoint (400 use_dpop_nonce) or by an API (401 with
 *   `WWW-Authenticate: DPoP error="use_dpop_nonce"`) gets one retry with it; any later DPoP-Nonce
 *   header replaces the nonce held for that server.
 * - A refusal is an outcome in plain words ("HelseID refused hit-bridge's client assertion: …"),
 *   never a throw and never with key material, tokens or proofs in it.
 */
import { randomUUID } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, SignJWT, type JWK } from 'jose';
import {
  abortable,
  describe,
  JWT_BEARER,
  postTokenRequest,
  type AfterAnswer,
  type AuthFailure,
  type Authorization,
  type FhirAuth,
  type FhirAuthDeps,
} from './fhir-auth.ts';
import { dpopProof, generateDpopKey, jwkThumbprint, signingKeyFromJwk, type SigningKey } from './dpop.ts';

export interface HelseIdSettings {
  /** e.g. https://helseid-sts.test.nhn.no; the client assertion's audience. */
  readonly issuer: string;
  readonly clientId: string;
  /** The client's private key as registered (public half) in HelseID's self-service. */
  readonly clientJwk: JWK;
  /** Every scope the client may ask for, e.g. `nhn:msh/api`; an audience's scopes start with `<audience>/`. */
  readonly scopes: readonly string[];
  /** Client assertion lifetime: 10 s like NHN's library, at most 60. */
  readonly assertionLifetimeS: number;
  /** A token is replaced this long before it expires, so a late clock never presents an expired one. */
  readonly clockSkewS: number;
  /** Organisation numbers for `assertion_details` (docs/reference/helseid.md §2). */
  readonly parentOrganisation?: string | undefined;
  readonly childOrganisation?: string | undefined;
  /** A fixed DPoP key; unset: one generated for this process. */
  readonly dpopJwk?: JWK | undefined;
}

const MAX_ASSERTION_LIFETIME_S = 60;
const DISCOVERY_TTL_MS = 24 * 60 * 60 * 1000;

/** What a token request gave: the token (never logged) with its lifetime, or why not. */
type TokenOutcome =
  | { readonly ok: true; readonly accessToken: string; readonly tokenType: string; readonly expiresInS: number }
  | { readonly ok: false; readonly failure: AuthFailure };

/** The decoded header and claims of a JWT: what `helseid token --dry-run` prints, never the signature. */
interface DecodedJwt {
  readonly header: Record<string, unknown>;
  readonly claims: Record<string, unknown>;
}

export interface HelseIdClient {
  /** The outbound-auth port for one audience (e.g. `nhn:msh`). */
  authFor(audience: string): FhirAuth;
  /** The scopes asked for an audience: the configured scopes that start with `<audience>/`. */
  scopesFor(audience: string): readonly string[];
  /** A token for an audience, from the cache or HelseID. */
  token(audience: string, signal?: AbortSignal): Promise<TokenOutcome>;
  /**
   * The client assertion and token-request proof it would send, decoded; nothing is fetched. The
   * token endpoint comes from discovery, which a dry run does not read: unless it is given, the
   * proof's htu says where it would come from.
   */
  dryRun(tokenEndpoint?: string): Promise<{ readonly clientAssertion: DecodedJwt; readonly dpopProof: DecodedJwt }>;
}

interface Discovery {
  readonly tokenEndpoint: string;
  readonly readAt: number;
}

interface CachedToken {
  readonly accessToken: string;
  readonly refreshAt: number;
}

export function createHelseIdClient(settings: HelseIdSettings, deps: FhirAuthDeps): HelseIdClient {
  const now = deps.now ?? Date.now;
  const fetcher = deps.fetch ?? fetch;
  const timeoutMs = deps.timeoutMs ?? 30_000;
  const logger = deps.logger.child({ component: 'helseid', clientId: settings.clientId });
  const clientKey = signingKeyFromJwk(settings.clientJwk, 'the HelseID client key');
  const dpopKey: SigningKey =
    settings.dpopJwk === undefined ? generateDpopKey() : signingKeyFromJwk(settings.dpopJwk, 'the DPoP key');
  const lifetimeS = Math.min(Math.max(1, settings.assertionLifetimeS), MAX_ASSERTION_LIFETIME_S);
  let clientKid: Promise<string> | undefined;
  let discovery: Discovery | undefined;
  /** The last DPoP-Nonce each server (by origin) gave. */
  const nonces = new Map<string, string>();
  const tokens = new Map<string, CachedToken>();
  const inFlight = new Map<string, Promise<TokenOutcome>>();
  const nowS = (): number => Math.floor(now() / 1000);
  const fail = (failure: AuthFailure): TokenOutcome => ({ ok: false, failure });

  const scopesFor = (audience: string): readonly string[] =>
    settings.scopes.filter((scope) => scope.startsWith(`${audience}/`));

  function learnNonce(url: string, headers: { get(name: string): string | null }): void {
    const nonce = headers.get('dpop-nonce');
    if (nonce !== null && nonce !== '') nonces.set(new URL(url).origin, nonce);
  }

  async function tokenEndpoint(signal: AbortSignal): Promise<string | AuthFailure> {
    if (discovery !== undefined && now() - discovery.readAt < DISCOVERY_TTL_MS) return discovery.tokenEndpoint;
    const url = `${settings.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    try {
      const response = await fetcher(url, { headers: { accept: 'application/json' }, signal });
      const body = (await response.json().catch(() => undefined)) as
        { issuer?: unknown; token_endpoint?: unknown } | undefined;
      if (response.ok && typeof body?.token_endpoint === 'string') {
        if (body.issuer !== settings.issuer) {
          return {
            httpStatus: response.status,
            error: undefined,
            message: `HelseID's discovery document (${url}) names issuer ${String(body.issuer)}, not HELSEID_ISSUER (${settings.issuer})`,
          };
        }
        discovery = { tokenEndpoint: body.token_endpoint, readAt: now() };
        logger.info({ tokenEndpoint: discovery.tokenEndpoint }, 'HelseID token endpoint from discovery');
        return discovery.tokenEndpoint;
      }
      return {
        httpStatus: response.status,
        error: undefined,
        message: `HelseID's discovery document (${url}) answered ${response.status} without a token_endpoint`,
      };
    } catch (error) {
      return {
        httpStatus: undefined,
        error: undefined,
        message: `cannot read HelseID's discovery document (${url}): ${describe(error)}`,
      };
    }
  }

  async function clientAssertion(): Promise<string> {
    clientKid ??=
      settings.clientJwk.kid === undefined
        ? jwkThumbprint(clientKey.publicJwk)
        : Promise.resolve(settings.clientJwk.kid);
    const issuedAt = nowS();
    const details = assertionDetails(settings.parentOrganisation, settings.childOrganisation);
    return new SignJWT(details === undefined ? {} : { assertion_details: details })
      .setProtectedHeader({ alg: clientKey.alg, kid: await clientKid, typ: 'client-authentication+jwt' })
      .setIssuer(settings.clientId)
      .setSubject(settings.clientId)
      .setAudience(settings.issuer)
      .setIssuedAt(issuedAt)
      .setNotBefore(issuedAt)
      .setExpirationTime(issuedAt + lifetimeS)
      .setJti(randomUUID().replaceAll('-', ''))
      .sign(clientKey.privateKey);
  }

  async function requestToken(audience: string, scopes: readonly string[], signal: AbortSignal): Promise<TokenOutcome> {
    const endpoint = await tokenEndpoint(signal);
    if (typeof endpoint !== 'string') return fail(endpoint);
    let nonceRetried = false;
    for (;;) {
      const nonce = nonces.get(new URL(endpoint).origin);
      const form = new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: settings.clientId,
        client_assertion_type: JWT_BEARER,
        client_assertion: await clientAssertion(),
        scope: scopes.join(' '),
      });
      const proof = await dpopProof(dpopKey, { method: 'POST', url: endpoint, nowS: nowS(), nonce });
      const asked = now();
      const response = await postTokenRequest(fetcher, endpoint, form, { dpop: proof }, signal);
      if ('unreachable' in response) {
        return fail({
          httpStatus: undefined,
          error: undefined,
          message: `cannot reach HelseID (${endpoint}): ${response.unreachable}`,
        });
      }
      learnNonce(endpoint, response.headers);
      const body = (await response.json().catch(() => undefined)) as TokenResponse | undefined;
      const error = typeof body?.error === 'string' ? body.error : undefined;
      if (
        response.status === 400 &&
        error === 'use_dpop_nonce' &&
        !nonceRetried &&
        response.headers.has('dpop-nonce')
      ) {
        nonceRetried = true;
        logger.info({ audience }, 'HelseID demanded a DPoP nonce; asking again with it');
        continue;
      }
      if (response.status === 200 && typeof body?.access_token === 'string') {
        const tokenType = typeof body.token_type === 'string' ? body.token_type : '';
        if (tokenType.toLowerCase() !== 'dpop') {
          const failure = {
            httpStatus: 200,
            error: undefined,
            message: `HelseID issued a ${tokenType || 'untyped'} token, not a DPoP-bound one; check that the client requires DPoP`,
          };
          logger.warn({ audience }, failure.message);
          return fail(failure);
        }
        const lifetime = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60;
        const margin = Math.min(settings.clockSkewS, lifetime / 2);
        tokens.set(cacheKey(audience, scopes), {
          accessToken: body.access_token,
          refreshAt: asked + (lifetime - margin) * 1000,
        });
        logger.info({ audience, scopes: scopes.join(' '), expiresInS: lifetime }, 'HelseID access token obtained');
        return { ok: true, accessToken: body.access_token, tokenType, expiresInS: lifetime };
      }
      const failure = refusal(response.status, body, nonceRetried);
      logger.warn({ audience, httpStatus: failure.httpStatus, error: failure.error }, failure.message);
      return fail(failure);
    }
  }

  function token(audience: string, signal?: AbortSignal): Promise<TokenOutcome> {
    const scopes = scopesFor(audience);
    if (scopes.length === 0) {
      return Promise.resolve(
        fail({
          httpStatus: undefined,
          error: undefined,
          message: `no HelseID scope for audience ${audience}: HELSEID_SCOPES has none starting with "${audience}/"`,
        }),
      );
    }
    const key = cacheKey(audience, scopes);
    const cached = tokens.get(key);
    if (cached !== undefined && now() < cached.refreshAt) {
      return Promise.resolve({
        ok: true,
        accessToken: cached.accessToken,
        tokenType: 'DPoP',
        expiresInS: Math.floor((cached.refreshAt - now()) / 1000),
      });
    }
    tokens.delete(key);
    // Callers waiting at once share one token request; each may still give up on its own signal.
    let shared = inFlight.get(key);
    if (shared === undefined) {
      shared = requestToken(audience, scopes, AbortSignal.timeout(timeoutMs)).finally(() => {
        inFlight.delete(key);
      });
      inFlight.set(key, shared);
    }
    return signal ? abortable(shared, signal) : shared;
  }

  function authFor(audience: string): FhirAuth {
    return {
      kind: 'helseid',
      async authorize(target, signal): Promise<Authorization> {
        const got = await token(audience, signal);
        if (!got.ok) return got;
        const proof = await dpopProof(dpopKey, {
          method: target.method,
          url: target.url,
          nowS: nowS(),
          nonce: nonces.get(new URL(target.url).origin),
          accessToken: got.accessToken,
        });
        return { ok: true, headers: { authorization: `DPoP ${got.accessToken}`, dpop: proof } };
      },
      answered(target, sent, answer): AfterAnswer {
        learnNonce(target.url, answer.headers);
        if (answer.status !== 401) return 'keep';
        const challenge = answer.headers.get('www-authenticate') ?? '';
        if (
          /^\s*DPoP\b/i.test(challenge) &&
          /error="use_dpop_nonce"/.test(challenge) &&
          answer.headers.get('dpop-nonce') !== null
        ) {
          return 'retry-with-nonce';
        }
        const key = cacheKey(audience, scopesFor(audience));
        const held = tokens.get(key);
        // Another caller may have replaced it already: only the refused token is dropped.
        if (held !== undefined && `DPoP ${held.accessToken}` === sent.authorization) tokens.delete(key);
        return 'retry-with-fresh-token';
      },
    };
  }

  return {
    authFor,
    scopesFor,
    token,
    async dryRun(endpoint) {
      const assertion = await clientAssertion();
      const proof = decoded(
        await dpopProof(dpopKey, { method: 'POST', url: endpoint ?? settings.issuer, nowS: nowS(), nonce: undefined }),
      );
      const htu =
        endpoint ?? `(the token_endpoint of ${settings.issuer.replace(/\/$/, '')}/.well-known/openid-configuration)`;
      return { clientAssertion: decoded(assertion), dpopProof: { ...proof, claims: { ...proof.claims, htu } } };
    },
  };
}

const cacheKey = (audience: string, scopes: readonly string[]): string => `${audience} ${[...scopes].sort().join(' ')}`;

function decoded(jwt: string): DecodedJwt {
  return { header: { ...decodeProtectedHeader(jwt) }, claims: { ...decodeJwt(jwt) } };
}

/**
 * `assertion_details` naming the organisation hit-bridge acts for (docs/reference/helseid.md §2):
 * with a parent organisation (a multi-tenant client) `NO:ORGNR:<parent>[:<child>]` in system
 * urn:oid:1.0.6523; with only a child organisation (single-tenant) the child number in system
 * urn:oid:2.16.578.1.12.4.1.4.101; with neither, no claim.
 */
export function assertionDetails(
  parent: string | undefined,
  child: string | undefined,
): Record<string, unknown> | undefined {
  const identifier =
    parent !== undefined
      ? {
          system: 'urn:oid:1.0.6523',
          type: 'ENH',
          value: `NO:ORGNR:${parent}${child === undefined ? '' : `:${child}`}`,
        }
      : child !== undefined
        ? { system: 'urn:oid:2.16.578.1.12.4.1.4.101', type: 'ENH', value: child }
        : undefined;
  if (identifier === undefined) return undefined;
  return { type: 'helseid_authorization', practitioner_role: { organization: { identifier } } };
}

interface TokenResponse {
  readonly access_token?: unknown;
  readonly token_type?: unknown;
  readonly expires_in?: unknown;
  readonly error?: unknown;
  readonly error_description?: unknown;
}

/** HelseID's refusal in plain words, with its own error and description; never a secret. */
function refusal(status: number, body: TokenResponse | undefined, nonceRetried: boolean): AuthFailure {
  const error = typeof body?.error === 'string' ? body.error : undefined;
  const description = typeof body?.error_description === 'string' ? body.error_description : undefined;
  const said = [error, description].filter((part) => part !== undefined).join(': ');
  const answer = `${status}${said === '' ? '' : ` ${said}`}`;
  const message =
    error === 'invalid_client'
      ? `HelseID refused hit-bridge's client assertion (${answer}); check HELSEID_CLIENT_ID, that the key's public half is registered for the client in HelseID's self-service, and the clock`
      : error === 'invalid_dpop_proof'
        ? `HelseID refused hit-bridge's DPoP proof (${answer})`
        : error === 'use_dpop_nonce'
          ? `HelseID demanded a DPoP nonce ${nonceRetried ? 'again after hit-bridge sent the one it gave' : 'without giving one'} (${answer})`
          : error === 'unauthorized_client'
            ? `HelseID does not allow hit-bridge's client this grant or these scopes (${answer}); check the client's grant types and scopes in HelseID's self-service`
            : error === 'invalid_scope'
              ? `HelseID refused the scopes asked for (${answer}); check HELSEID_SCOPES against the client's scopes in HelseID's self-service`
              : `HelseID did not issue a token (${answer})`;
  return { httpStatus: status, error, message };
}
