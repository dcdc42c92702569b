/**
 * Inbound authentication: OAuth 2.0 bearer JWTs (RFC 6750) verified against the issuer's JSON
 * Web Key Set, and the scope each /v1 route needs (scopes.ts). See docs/adr/0007.
 *
 * What a refused caller is told is what RFC 6750 says it needs to act — no token, an invalid or
 * an expired one, a missing scope — and nothing about which check failed: that is logged here,
 * with the request id, for the operators. The token itself is never logged.
 */
import type { RequestHandler } from 'express';
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { RSA_AND_EC_ALGORITHMS } from '../platform/jws-algorithms.ts';
import type { Logger } from '../platform/logger.ts';
import { forbidden, unauthorized, unavailable } from '../platform/problem.ts';
import { setCaller, type Caller } from './caller.ts';
import { scopeFor, type Scope } from './scopes.ts';

/** Asymmetric algorithms only (see RSA_AND_EC_ALGORITHMS), and Edwards-curve keys besides. */
const ALLOWED_ALGORITHMS: readonly string[] = [...RSA_AND_EC_ALGORITHMS, 'EdDSA', 'Ed25519'];

/** How long a fetched key set is trusted before it is fetched again. */
const JWKS_CACHE_MAX_AGE_MS = 10 * 60_000;
/** A token with an unknown kid refetches the key set at most this often (key rotation, not a lever for floods). */
const JWKS_COOLDOWN_MS = 30_000;
/** How long fetching the key set or the discovery document may take. */
const FETCH_TIMEOUT_MS = 5_000;
/** After a failed discovery, requests are answered 503 for this long before it is tried again. */
const DISCOVERY_RETRY_MS = 10_000;
/** A longer Authorization header is no token we issue; refuse it before any work. */
const MAX_TOKEN_LENGTH = 8192;
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
/** Client ids go into logs and the audit trail: visible ASCII, bounded. */
const CLIENT_ID = /^[\x21-\x7e]{1,255}$/;

const REALM = 'hit-bridge';

export interface JwtAuthOptions {
  readonly issuer: string;
  readonly audience: string;
  /** Unset: found by OpenID Connect discovery at the issuer, on the first request. */
  readonly jwksUrl?: string | undefined;
  readonly clockSkewSeconds: number;
  readonly logger: Logger;
}

/** What protects /v1: a verifier of bearer JWTs, or nothing (AUTH_MODE=off). */
export type InboundAuth = { readonly mode: 'off' } | { readonly mode: 'jwt'; readonly verify: TokenVerifier };

/** The caller a token proves, or a Problem thrown (401 for the token, 503 when the keys cannot be had). */
export type TokenVerifier = (token: string) => Promise<Caller>;

/** Thrown by the verifier when the token is refused; `reason` is for the log only. */
class RefusedToken extends Error {
  readonly expired: boolean;
  constructor(reason: string, expired = false) {
    super(reason);
    this.expired = expired;
  }
}

export function createJwtVerifier(options: JwtAuthOptions): TokenVerifier {
  const keys = keySet(options);
  return async (token) => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms: [...ALLOWED_ALGORITHMS],
        clockTolerance: options.clockSkewSeconds,
        requiredClaims: ['exp'],
      }));
    } catch (error) {
      throw classify(error);
    }
    const clientId = stringClaim(payload.client_id) ?? stringClaim(payload.azp);
    if (clientId === undefined || !CLIENT_ID.test(clientId)) {
      throw new RefusedToken('the token names no client (client_id or azp)');
    }
    return { clientId, scopes: scopesOf(payload) };
  };
}

/** jose's errors about the token are the caller's problem (401); about the key set, ours (503). */
function classify(error: unknown): Error {
  if (error instanceof errors.JWTExpired) return new RefusedToken(error.code, true);
  if (
    error instanceof errors.JWTClaimValidationFailed ||
    error instanceof errors.JWTInvalid ||
    error instanceof errors.JWSInvalid ||
    error instanceof errors.JWSSignatureVerificationFailed ||
    error instanceof errors.JOSEAlgNotAllowed ||
    error instanceof errors.JOSENotSupported ||
    error instanceof errors.JWKSNoMatchingKey ||
    error instanceof errors.JWKSMultipleMatchingKeys
  ) {
    return new RefusedToken(
      error instanceof errors.JWTClaimValidationFailed ? `${error.code} ${error.claim}` : error.code,
    );
  }
  return error instanceof Error ? error : new Error(String(error));
}

function stringClaim(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** `scope` (RFC 8693, Keycloak: space-separated) or `scp` (a list, or a string, elsewhere). */
function scopesOf(payload: JWTPayload): ReadonlySet<string> {
  const raw = payload.scope ?? payload.scp;
  if (typeof raw === 'string') return new Set(raw.split(' ').filter((scope) => scope !== ''));
  if (Array.isArray(raw)) return new Set(raw.filter((scope): scope is string => typeof scope === 'string'));
  return new Set();
}

/** The issuer's keys: cached, refetched when stale or (at most every 30 s) when a kid is unknown. */
function keySet(options: JwtAuthOptions): JWTVerifyGetKey {
  const remote = (url: URL): JWTVerifyGetKey =>
    createRemoteJWKSet(url, {
      timeoutDuration: FETCH_TIMEOUT_MS,
      cooldownDuration: JWKS_COOLDOWN_MS,
      cacheMaxAge: JWKS_CACHE_MAX_AGE_MS,
    });
  if (options.jwksUrl !== undefined) return remote(new URL(options.jwksUrl));

  let found: JWTVerifyGetKey | undefined;
  let failedAt = -Infinity;
  let pending: Promise<JWTVerifyGetKey> | undefined;
  const discover = async (): Promise<JWTVerifyGetKey> => {
    if (found !== undefined) return found;
    if (performance.now() - failedAt < DISCOVERY_RETRY_MS) {
      throw new Error('OpenID discovery failed recently; not retried yet');
    }
    pending ??= jwksUriOf(options.issuer)
      .then((url) => {
        options.logger.info({ jwksUrl: url.href }, 'found the issuer key set by OpenID discovery');
        found = remote(url);
        return found;
      })
      .catch((error: unknown) => {
        failedAt = performance.now();
        options.logger.warn({ err: error, issuer: options.issuer }, 'OpenID discovery at the issuer failed');
        throw error;
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
  return async (header, token) => (await discover())(header, token);
}

/** jwks_uri from the issuer's OpenID configuration, whose issuer must be the one configured. */
async function jwksUriOf(issuer: string): Promise<URL> {
  const response = await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, {
    signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    headers: { accept: 'application/json' },
  });
  if (!response.ok) throw new Error(`the discovery document answered HTTP ${response.status}`);
  const document = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
  if (document.issuer !== issuer) throw new Error('the discovery document names another issuer');
  if (typeof document.jwks_uri !== 'string' || !/^https?:\/\//.test(document.jwks_uri)) {
    throw new Error('the discovery document has no http(s) jwks_uri');
  }
  return new URL(document.jwks_uri);
}

/** The WWW-Authenticate challenge (RFC 6750 §3): no error code when no token was offered. */
function challenge(scope: Scope, error?: { code: string; description: string }): string {
  const parts = [`realm="${REALM}"`];
  if (error !== undefined) parts.push(`error="${error.code}"`, `error_description="${error.description}"`);
  parts.push(`scope="${scope}"`);
  return `Bearer ${parts.join(', ')}`;
}

function bearerToken(header: string | undefined): { token?: string; malformed: boolean } {
  if (header === undefined) return { malformed: false };
  const match = /^Bearer +(.*)$/i.exec(header.trim());
  // Another scheme (Basic, …) offers no bearer token: answered as no token at all.
  if (match === null) return { malformed: false };
  const token = match[1] ?? '';
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH || !B64TOKEN.test(token)) return { malformed: true };
  return { token, malformed: false };
}

/**
 * The middleware in front of /v1 (mounted on it): every request there needs a valid token with
 * the route's scope, or, with AUTH_MODE=off, passes as an anonymous caller.
 */
export function authenticate(auth: InboundAuth): RequestHandler {
  if (auth.mode === 'off') {
    return (_req, res, next) => {
      setCaller(res, { clientId: undefined, scopes: new Set() });
      next();
    };
  }
  return async (req, res, next) => {
    const scope = scopeFor(`${req.baseUrl}${req.path}`);
    const log = res.locals.log;
    const { token, malformed } = bearerToken(req.get('authorization'));
    const invalid = (description: string) =>
      unauthorized(
        `${description}: send a valid access token from the authorization server as Authorization: Bearer <token>.`,
        challenge(scope, { code: 'invalid_token', description }),
      );
    if (token === undefined) {
      if (malformed) {
        log.info({ reason: 'malformed Authorization header' }, 'refused a bearer token');
        throw invalid('The access token is not valid');
      }
      throw unauthorized('This route needs an access token: send Authorization: Bearer <token>.', challenge(scope));
    }
    let caller: Caller;
    try {
      caller = await auth.verify(token);
    } catch (error) {
      if (error instanceof RefusedToken) {
        log.info({ reason: error.message }, 'refused a bearer token');
        throw invalid(error.expired ? 'The access token expired' : 'The access token is not valid');
      }
      log.warn({ err: error }, "the issuer's keys could not be had to verify a token");
      throw unavailable(
        "Access tokens cannot be verified right now (the authorization server's keys are out of reach); try again.",
        5,
      );
    }
    // Known before the scope is judged: the audit log names who was refused, not only who got in.
    setCaller(res, caller);
    if (!caller.scopes.has(scope)) {
      log.info({ clientId: caller.clientId, scope }, 'refused a token without the scope the route needs');
      throw forbidden(
        `The access token does not grant the scope ${scope}, which this route needs.`,
        challenge(scope, {
          code: 'insufficient_scope',
          description: `The access token does not grant the scope ${scope}`,
        }),
      );
    }
    next();
  };
}
