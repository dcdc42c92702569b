/**
 * How hit-bridge authenticates to an HTTP API — the hospital EHR, a recipient's FHIR endpoint,
 * NHN's APIs — in one place, the outbound-auth port: no authentication, a static bearer token,
 * SMART Backend Services (OAuth 2.0 client credentials, the client authenticated by a JWT it signs:
 * private_key_jwt, RS384 or ES384), or HelseID with DPoP-bound tokens (src/delivery/helseid.ts).
 * The port gives the headers for one request, knowing its method and URL (a DPoP proof is made
 * for exactly those), and hears what the server answered (a DPoP nonce, a refused token).
 *
 * SMART tokens are cached until shortly before they expire (a fifth of their lifetime, at most
 * 30 s, early), and concurrent callers share one token request. When the server answers 401 to a
 * token we still held, the token is dropped and the request sent once more with a fresh one; a
 * second 401 is the server's answer. A refused token request is an outcome, never a throw: the
 * caller records it (e.g. on the status timeline) and retries later, so nothing is lost while an
 * operator restores the client.
 *
 * Secrets (the static token, the private key, access tokens) are never logged or put in a
 * failure message.
 */
import { createPrivateKey, createPublicKey, randomUUID, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, SignJWT } from 'jose';
import type { Logger } from '../platform/logger.ts';

export type FhirAuthSettings =
  | { readonly kind: 'none' }
  | { readonly kind: 'bearer'; readonly token: string }
  | {
      readonly kind: 'smart-backend';
      readonly clientId: string;
      /** PKCS#8 PEM: an RSA key (signs RS384) or an EC P-384 key (signs ES384). */
      readonly privateKeyPem: string;
      /** The kid the authorization server knows the public key by; default its RFC 7638 thumbprint. */
      readonly keyId?: string;
      /** Token endpoint; unset: read from <fhirBaseUrl>/.well-known/smart-configuration. */
      readonly tokenUrl?: string;
      readonly fhirBaseUrl: string;
      /** Space-separated, e.g. "system/*.write". */
      readonly scopes: string;
    };

/** Why no Authorization header could be had: the token endpoint refused, or could not be reached. */
export interface AuthFailure {
  /** The token endpoint's HTTP status; undefined when no answer came. */
  readonly httpStatus: number | undefined;
  /** OAuth error code (RFC 6749 §5.2), e.g. invalid_client, when the endpoint sent one. */
  readonly error: string | undefined;
  /** Plain words for the status timeline and the log; never a secret. */
  readonly message: string;
}

/** The request to authorize: a DPoP proof is made for exactly this method and URL. */
export interface RequestTarget {
  readonly method: string;
  readonly url: string;
}

/** Headers to add to one request: Authorization, and with DPoP the request's proof. */
type AuthHeaders = Readonly<Record<string, string>>;

export type Authorization =
  { readonly ok: true; readonly headers: AuthHeaders } | { readonly ok: false; readonly failure: AuthFailure };

/** What the server answered: its status, and its headers (a DPoP nonce, a challenge). */
export interface ServerAnswer {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
}

/**
 * After an answer: keep it, or send once more because a retry could carry what the server asked
 * for (a DPoP nonce it demanded, or a fresh token in place of one it refused).
 */
export type AfterAnswer = 'keep' | 'retry-with-nonce' | 'retry-with-fresh-token';

/**
 * The outbound-auth port: every caller of an HTTP API that needs credentials (the EHR, a
 * recipient's FHIR endpoint, NHN's APIs) asks it for each request's headers, and tells it what the
 * server answered.
 */
export interface FhirAuth {
  readonly kind: 'none' | 'bearer' | 'smart-backend' | 'helseid';
  /** The headers for a request to `target` (fetching a token when none is fresh). */
  authorize(target: RequestTarget, signal?: AbortSignal): Promise<Authorization>;
  /**
   * The server answered a request sent with `sent`: learns any nonce it gave, drops a token it
   * refused (if still the cached one), and says whether sending once more could succeed.
   */
  answered(target: RequestTarget, sent: AuthHeaders, answer: ServerAnswer): AfterAnswer;
}

export interface FhirAuthDeps {
  readonly logger: Logger;
  /** Milliseconds since the epoch; tests inject one. */
  readonly now?: () => number;
  /** One token or discovery request must be done within this. */
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

/** A client assertion lives 5 minutes at most (SMART Backend Services). */
const ASSERTION_LIFETIME_S = 300;
export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

const keep = (): AfterAnswer => 'keep';

export function createFhirAuth(settings: FhirAuthSettings, deps: FhirAuthDeps): FhirAuth {
  switch (settings.kind) {
    case 'none':
      return { kind: 'none', authorize: () => Promise.resolve({ ok: true, headers: {} }), answered: keep };
    case 'bearer': {
      const headers = { authorization: `Bearer ${settings.token}` };
      return { kind: 'bearer', authorize: () => Promise.resolve({ ok: true, headers }), answered: keep };
    }
    case 'smart-backend':
      return createSmartBackendAuth(settings, deps);
  }
}

/** Thrown out of a request signer when no credentials could be had; withFhirAuth turns it into a failure. */
class CredentialsUnavailable extends Error {
  readonly failure: AuthFailure;
  constructor(failure: AuthFailure) {
    super(failure.message);
    this.failure = failure;
    this.name = 'CredentialsUnavailable';
  }
}

/** Gives the headers for one request, or throws CredentialsUnavailable. */
export type RequestSigner = (target: RequestTarget) => Promise<AuthHeaders>;

export type Authorized<T> =
  { readonly ok: true; readonly result: T } | { readonly ok: false; readonly failure: AuthFailure };

/**
 * Sends with the headers the port gives for each request and, when the server's answer says a
 * retry could succeed (a DPoP nonce demanded, a token refused that a fresh one could replace),
 * sends once more — each reason at most once, so a server that keeps refusing has the last word.
 * `send` signs its request with the signer it is given (once per HTTP request) and must not
 * throw for HTTP answers; `answerOf` reads the status and headers of its result (undefined: no
 * answer came). `discard` releases a result that a retry replaces.
 */
export async function withFhirAuth<T>(
  auth: FhirAuth,
  send: (sign: RequestSigner) => Promise<T>,
  answerOf: (result: T) => ServerAnswer | undefined,
  options: { readonly signal?: AbortSignal | undefined; readonly discard?: (result: T) => void } = {},
): Promise<Authorized<T>> {
  const retried = new Set<AfterAnswer>();
  for (;;) {
    const attempt: { sent?: { target: RequestTarget; headers: AuthHeaders }; refused?: AuthFailure } = {};
    const sign: RequestSigner = async (target) => {
      const authorization = await auth.authorize(target, options.signal);
      if (!authorization.ok) {
        attempt.refused = authorization.failure;
        throw new CredentialsUnavailable(authorization.failure);
      }
      attempt.sent = { target, headers: authorization.headers };
      return authorization.headers;
    };
    let result: T;
    try {
      result = await send(sign);
    } catch (error) {
      if (attempt.refused !== undefined) return { ok: false, failure: attempt.refused };
      throw error;
    }
    if (attempt.refused !== undefined) return { ok: false, failure: attempt.refused };
    const answer = attempt.sent === undefined ? undefined : answerOf(result);
    if (attempt.sent === undefined || answer === undefined) return { ok: true, result };
    const next = auth.answered(attempt.sent.target, attempt.sent.headers, answer);
    if (next === 'keep' || retried.has(next)) return { ok: true, result };
    retried.add(next);
    options.discard?.(result);
  }
}

/**
 * fetch with the port's credentials, for callers that talk to an HTTP API without the EHR adapter
 * (posting a handover packet to a recipient, NHN's APIs). Resolves with the Response — whatever
 * its status — or with why no credentials could be had.
 */
export function fetchWithFhirAuth(
  auth: FhirAuth,
  url: string | URL,
  init: RequestInit = {},
  fetcher: typeof fetch = fetch,
): Promise<Authorized<Response>> {
  const target = { method: (init.method ?? 'GET').toUpperCase(), url: String(url) };
  return withFhirAuth(
    auth,
    async (sign) => {
      const headers = new Headers(init.headers);
      for (const [name, value] of Object.entries(await sign(target))) headers.set(name, value);
      return fetcher(url, { ...init, headers });
    },
    (response) => response,
    {
      signal: init.signal ?? undefined,
      // The body of a refused attempt is not read: release its connection.
      discard: (response) => void response.body?.cancel(),
    },
  );
}

interface CachedToken {
  readonly header: string;
  /** When to stop using it (before the server's expiry). */
  readonly refreshAt: number;
}

type SmartSettings = Extract<FhirAuthSettings, { kind: 'smart-backend' }>;

function createSmartBackendAuth(settings: SmartSettings, deps: FhirAuthDeps): FhirAuth {
  const now = deps.now ?? Date.now;
  const fetcher = deps.fetch ?? fetch;
  const timeoutMs = deps.timeoutMs ?? 30_000;
  const logger = deps.logger.child({ component: 'fhir-auth', clientId: settings.clientId });
  const key = signingKey(settings.privateKeyPem);
  let keyId: Promise<string> | undefined;
  let tokenUrl: string | undefined = settings.tokenUrl;
  let cached: CachedToken | undefined;
  let inFlight: Promise<Authorization> | undefined;

  const fail = (failure: AuthFailure): Authorization => ({ ok: false, failure });

  async function endpoint(signal: AbortSignal): Promise<string | AuthFailure> {
    if (tokenUrl !== undefined) return tokenUrl;
    const url = `${settings.fhirBaseUrl.replace(/\/$/, '')}/.well-known/smart-configuration`;
    try {
      const response = await fetcher(url, { headers: { accept: 'application/json' }, signal });
      const body = (await response.json().catch(() => undefined)) as { token_endpoint?: unknown } | undefined;
      if (response.ok && typeof body?.token_endpoint === 'string') {
        tokenUrl = body.token_endpoint;
        logger.info({ tokenUrl }, 'token endpoint from SMART discovery');
        return tokenUrl;
      }
      return {
        httpStatus: response.status,
        error: undefined,
        message: `SMART discovery (${url}) answered ${response.status} without a token_endpoint; set EHR_TOKEN_URL`,
      };
    } catch (error) {
      return {
        httpStatus: undefined,
        error: undefined,
        message: `SMART discovery (${url}) failed: ${describe(error)}`,
      };
    }
  }

  async function requestToken(signal: AbortSignal): Promise<Authorization> {
    const url = await endpoint(signal);
    if (typeof url !== 'string') return fail(url);
    keyId ??= settings.keyId === undefined ? thumbprint(key.key) : Promise.resolve(settings.keyId);
    const assertion = await clientAssertion({
      clientId: settings.clientId,
      tokenUrl: url,
      key: key.key,
      algorithm: key.algorithm,
      keyId: await keyId,
      nowS: Math.floor(now() / 1000),
    });
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_assertion_type: JWT_BEARER,
      client_assertion: assertion,
      ...(settings.scopes.trim() === '' ? {} : { scope: settings.scopes.trim() }),
    });
    const asked = now();
    const response = await postTokenRequest(fetcher, url, form, {}, signal);
    if ('unreachable' in response) {
      return fail({
        httpStatus: undefined,
        error: undefined,
        message: `cannot reach the authorization server (${url}): ${response.unreachable}`,
      });
    }
    const body = (await response.json().catch(() => undefined)) as TokenResponse | undefined;
    if (response.status === 200 && typeof body?.access_token === 'string') {
      const lifetimeS = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60;
      const earlyMs = Math.min(30_000, lifetimeS * 200);
      cached = { header: `Bearer ${body.access_token}`, refreshAt: asked + lifetimeS * 1000 - earlyMs };
      logger.info({ expiresInS: lifetimeS }, 'access token obtained');
      return { ok: true, headers: { authorization: cached.header } };
    }
    const failure = refusal(response.status, body);
    logger.warn({ httpStatus: failure.httpStatus, error: failure.error }, failure.message);
    return fail(failure);
  }

  return {
    kind: 'smart-backend',
    async authorize(_target, signal) {
      if (cached !== undefined && now() < cached.refreshAt) {
        return { ok: true, headers: { authorization: cached.header } };
      }
      cached = undefined;
      // Callers waiting at once share one token request; each may still give up on its own signal.
      inFlight ??= requestToken(AbortSignal.timeout(timeoutMs)).finally(() => {
        inFlight = undefined;
      });
      return signal ? abortable(inFlight, signal) : inFlight;
    },
    answered(_target, sent, answer) {
      if (answer.status !== 401) return 'keep';
      if (cached?.header === sent.authorization) cached = undefined;
      return 'retry-with-fresh-token';
    },
  };
}

/** POSTs a token request form; the Response whatever its status, or why no answer came. */
export async function postTokenRequest(
  fetcher: typeof fetch,
  url: string,
  form: URLSearchParams,
  headers: Readonly<Record<string, string>>,
  signal: AbortSignal,
): Promise<Response | { readonly unreachable: string }> {
  try {
    return await fetcher(url, {
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: form.toString(),
      signal,
    });
  } catch (error) {
    return { unreachable: describe(error) };
  }
}

interface TokenResponse {
  readonly access_token?: unknown;
  readonly expires_in?: unknown;
  readonly error?: unknown;
  readonly error_description?: unknown;
}

/** The token endpoint's refusal in plain words (RFC 6749 §5.2 error and description). */
function refusal(status: number, body: TokenResponse | undefined): AuthFailure {
  const error = typeof body?.error === 'string' ? body.error : undefined;
  const description = typeof body?.error_description === 'string' ? body.error_description : undefined;
  const said = [error, description].filter((part) => part !== undefined).join(': ');
  const answer = `${status}${said === '' ? '' : ` ${said}`}`;
  const message =
    error === 'invalid_client' || error === 'unauthorized_client' || status === 401
      ? `the authorization server refused hit-bridge's credentials (${answer}); check that the client is enabled, EHR_CLIENT_ID is right and hit-bridge's public key is registered for it`
      : error === 'invalid_scope'
        ? `the authorization server refused the scopes asked for (${answer}); check EHR_SCOPES`
        : `the authorization server did not issue a token (${answer})`;
  return { httpStatus: status, error, message };
}

export interface ClientAssertionClaims {
  readonly clientId: string;
  readonly tokenUrl: string;
  readonly key: KeyObject;
  readonly algorithm: 'RS384' | 'ES384';
  readonly keyId: string;
  /** Seconds since the epoch. */
  readonly nowS: number;
}

/**
 * The JWT that authenticates hit-bridge at the token endpoint (RFC 7523; SMART Backend Services):
 * iss = sub = client id, aud = the token endpoint, a unique jti, expiring within 5 minutes.
 */
export function clientAssertion(claims: ClientAssertionClaims): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: claims.algorithm, kid: claims.keyId, typ: 'JWT' })
    .setIssuer(claims.clientId)
    .setSubject(claims.clientId)
    .setAudience(claims.tokenUrl)
    .setJti(randomUUID())
    .setIssuedAt(claims.nowS)
    .setExpirationTime(claims.nowS + ASSERTION_LIFETIME_S)
    .sign(claims.key);
}

/** The signing key and the algorithm its type implies: RSA → RS384, EC P-384 → ES384. */
export function signingKey(pem: string): { key: KeyObject; algorithm: 'RS384' | 'ES384' } {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    // Never the key's text in a message.
    throw new Error('the private key is not a readable PEM private key (PKCS#8 or PKCS#1/SEC1)');
  }
  if (key.asymmetricKeyType === 'rsa') return { key, algorithm: 'RS384' };
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'secp384r1') {
    return { key, algorithm: 'ES384' };
  }
  throw new Error(
    `the private key must be RSA (RS384) or EC P-384 (ES384); got ${key.asymmetricKeyType ?? 'unknown'} ${key.asymmetricKeyDetails?.namedCurve ?? ''}`.trim(),
  );
}

/** RFC 7638 thumbprint of the public key: the kid by default, and what the JWKS should list. */
export async function thumbprint(privateKey: KeyObject): Promise<string> {
  return calculateJwkThumbprint(await exportJWK(createPublicKey(privateKey)));
}

export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => {
      signal.removeEventListener('abort', onAbort);
    });
  });
}

export function describe(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const { message, cause } = error as { message?: unknown; cause?: unknown };
    const causeText =
      typeof cause === 'object' && cause !== null ? (cause as { message?: unknown }).message : undefined;
    if (typeof causeText === 'string' && causeText !== '') return causeText;
    if (typeof message === 'string' && message !== '') return message;
  }
  return String(error);
}
