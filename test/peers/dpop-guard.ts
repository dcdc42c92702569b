/**
 * The resource-server side of DPoP (RFC 9449 §7, §8, §9) for the test peers: what an NHN API does
 * with `Authorization: DPoP <token>` and its `DPoP` proof (docs/reference/helseid.md §4). One check,
 * used by every peer that plays a DPoP-protected API (the secured EHR in front of HAPI, the EDI
 * peer), so what "accepted" means is the same everywhere.
 *
 * A request passes only when: the token is presented with the DPoP scheme (a bound token sent as
 * Bearer is refused); there is exactly one proof; the proof is a `dpop+jwt` signed with an
 * asymmetric algorithm by the public `jwk` in its header (no private members); its `htm` and
 * `htu` are this request's method and URL (without query and fragment); its `iat` is within the
 * window; its `ath` is the hash of the presented token; its `jti` has not been seen before; the
 * token is valid at the issuer (signature against the issuer's JWKS, `iss`, optionally `aud`) and
 * its `cnf.jkt` is the thumbprint of the proof's key; and, when nonces are demanded, the proof
 * carries the current nonce. Every refusal says why in `error_description`, and is a 401 (an
 * invalid proof too, RFC 9449 §7.1): for the client a refused credential, never a bad request,
 * except for more than one DPoP header (400 invalid_request).
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  calculateJwkThumbprint,
  createRemoteJWKSet,
  decodeProtectedHeader,
  importJWK,
  jwtVerify,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { DPOP_ALGORITHMS } from '../../src/delivery/dpop.ts';

/** The algorithms a proof may be signed with: the same list hit-bridge signs from. */
const PROOF_ALGORITHMS: readonly string[] = DPOP_ALGORITHMS;

const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];

export interface DpopGuardOptions {
  /** The authorization server's issuer (the token's `iss`). */
  readonly issuer: string;
  /** Where its signing keys are; or a key getter (tests). */
  readonly jwks: string | JWTVerifyGetKey;
  /** When set, the token's `aud` must include it. */
  readonly audience?: string;
  /** How old a proof may be (seconds after its iat); HelseID's sample validator allows 1. */
  readonly proofLifetimeS?: number;
  /** Allowed clock difference either way, seconds (HelseID's sample: 5). */
  readonly clockSkewS?: number;
  /** Demand a server nonce from the start (can be switched with demandNonce). */
  readonly requireNonce?: boolean;
  /** Milliseconds since the epoch; tests inject one. */
  readonly now?: () => number;
}

/** The parts of a request the check reads. `url` is the full URL the client addressed. */
export interface DpopRequest {
  readonly method: string;
  readonly url: string;
  readonly authorization: string | undefined;
  /** Every DPoP header the request carried (more than one is refused). */
  readonly dpop: readonly string[];
}

export type DpopVerdict =
  | {
      readonly ok: true;
      readonly token: JWTPayload;
      /** Headers to send with the answer (a fresh DPoP-Nonce when nonces are demanded). */
      readonly headers: Readonly<Record<string, string>>;
    }
  | {
      readonly ok: false;
      readonly status: 400 | 401;
      readonly error: 'invalid_request' | 'invalid_token' | 'invalid_dpop_proof' | 'use_dpop_nonce' | undefined;
      readonly description: string;
      /** WWW-Authenticate (and DPoP-Nonce for a nonce challenge). */
      readonly headers: Readonly<Record<string, string>>;
    };

export interface DpopGuard {
  check(request: DpopRequest): Promise<DpopVerdict>;
  /** Start or stop demanding a server nonce. */
  demandNonce(on: boolean): void;
  /** How many requests passed, and how many were refused with each error: for tests to assert on. */
  readonly counts: Readonly<Record<string, number>>;
}

export function createDpopGuard(options: DpopGuardOptions): DpopGuard {
  const now = options.now ?? Date.now;
  const lifetimeS = options.proofLifetimeS ?? 1;
  const skewS = options.clockSkewS ?? 5;
  const keys = typeof options.jwks === 'string' ? createRemoteJWKSet(new URL(options.jwks)) : options.jwks;
  let requireNonce = options.requireNonce ?? false;
  let nonce = freshNonce();
  /** Proof jti → when it may be forgotten (its iat window has passed). */
  const seen = new Map<string, number>();
  const counts: Record<string, number> = {};

  const count = (verdict: DpopVerdict): DpopVerdict => {
    const name = verdict.ok ? 'accepted' : (verdict.error ?? 'no_credentials');
    counts[name] = (counts[name] ?? 0) + 1;
    return verdict;
  };
  const refuse = (
    status: 400 | 401,
    error: Exclude<DpopVerdict, { ok: true }>['error'],
    description: string,
    extra: Record<string, string> = {},
  ): DpopVerdict => {
    const params = [`algs="${PROOF_ALGORITHMS.join(' ')}"`];
    if (error !== undefined) params.push(`error="${error}"`, `error_description="${description.replaceAll('"', "'")}"`);
    return count({
      ok: false,
      status,
      error,
      description,
      headers: { 'www-authenticate': `DPoP ${params.join(', ')}`, ...extra },
    });
  };

  return {
    counts,
    demandNonce(on) {
      requireNonce = on;
      nonce = freshNonce();
    },
    async check(request) {
      const [scheme = '', token = ''] = (request.authorization ?? '').trim().split(/\s+/, 2);
      if (scheme === '') return refuse(401, undefined, 'no credentials');
      if (scheme.toLowerCase() !== 'dpop') {
        return refuse(
          401,
          'invalid_token',
          `the token was sent with the ${scheme} scheme; this API accepts only DPoP-bound tokens sent as "Authorization: DPoP"`,
        );
      }
      if (token === '') return refuse(401, 'invalid_token', 'Authorization: DPoP carries no token');
      if (request.dpop.length !== 1) {
        return request.dpop.length === 0
          ? refuse(401, 'invalid_dpop_proof', 'no DPoP proof header')
          : refuse(400, 'invalid_request', 'more than one DPoP proof header');
      }
      const proof = request.dpop[0] ?? '';

      let header: ReturnType<typeof decodeProtectedHeader>;
      try {
        header = decodeProtectedHeader(proof);
      } catch {
        return refuse(401, 'invalid_dpop_proof', 'the DPoP proof is not a JWT');
      }
      if (header.typ !== 'dpop+jwt')
        return refuse(401, 'invalid_dpop_proof', `proof typ is ${String(header.typ)}, not dpop+jwt`);
      if (typeof header.alg !== 'string' || !PROOF_ALGORITHMS.includes(header.alg)) {
        return refuse(
          401,
          'invalid_dpop_proof',
          `proof alg ${String(header.alg)} is not an accepted asymmetric algorithm`,
        );
      }
      const jwk = header.jwk as JWK | undefined;
      if (jwk === undefined || typeof jwk !== 'object')
        return refuse(401, 'invalid_dpop_proof', 'the proof header has no jwk');
      if (PRIVATE_JWK_MEMBERS.some((member) => member in jwk)) {
        return refuse(401, 'invalid_dpop_proof', 'the proof header jwk carries private key material');
      }

      let claims: JWTPayload;
      try {
        const key = await importJWK(jwk, header.alg);
        ({ payload: claims } = await jwtVerify(proof, key, {
          typ: 'dpop+jwt',
          algorithms: [header.alg],
          currentDate: new Date(now()),
        }));
      } catch {
        return refuse(401, 'invalid_dpop_proof', 'the proof signature does not verify with its jwk');
      }
      if (typeof claims.jti !== 'string' || claims.jti === '')
        return refuse(401, 'invalid_dpop_proof', 'the proof has no jti');
      if (claims.htm !== request.method.toUpperCase()) {
        return refuse(
          401,
          'invalid_dpop_proof',
          `the proof is for method ${String(claims.htm)}, the request is ${request.method.toUpperCase()}`,
        );
      }
      const htu = withoutQuery(request.url);
      if (typeof claims.htu !== 'string' || withoutQuery(claims.htu) !== htu) {
        return refuse(
          401,
          'invalid_dpop_proof',
          `the proof is for URL ${String(claims.htu)}, the request is for ${htu}`,
        );
      }
      const nowS = now() / 1000;
      if (typeof claims.iat !== 'number' || claims.iat > nowS + skewS || claims.iat < nowS - lifetimeS - skewS) {
        return refuse(
          401,
          'invalid_dpop_proof',
          'the proof iat is outside the accepted window (too old, or from the future)',
        );
      }
      if (claims.ath !== createHash('sha256').update(token, 'ascii').digest('base64url')) {
        return refuse(401, 'invalid_dpop_proof', 'the proof ath is not the hash of the presented access token');
      }

      let accessToken: JWTPayload;
      try {
        ({ payload: accessToken } = await jwtVerify(token, keys, {
          issuer: options.issuer,
          ...(options.audience === undefined ? {} : { audience: options.audience }),
          currentDate: new Date(now()),
          clockTolerance: skewS,
        }));
      } catch (error) {
        return refuse(401, 'invalid_token', `the access token is not valid here: ${(error as Error).message}`);
      }
      const cnf = accessToken.cnf as { jkt?: unknown } | undefined;
      if (typeof cnf?.jkt !== 'string')
        return refuse(401, 'invalid_token', 'the access token is not DPoP-bound (no cnf.jkt)');
      if (cnf.jkt !== (await calculateJwkThumbprint(jwk, 'sha256'))) {
        return refuse(
          401,
          'invalid_token',
          'the proof is signed by another key than the one the token is bound to (cnf.jkt)',
        );
      }

      forgetOld(seen, nowS);
      if (seen.has(claims.jti))
        return refuse(401, 'invalid_dpop_proof', 'the proof jti has been used before (a replayed proof)');
      seen.set(claims.jti, claims.iat + lifetimeS + 2 * skewS);

      if (requireNonce && claims.nonce !== nonce) {
        return refuse(401, 'use_dpop_nonce', 'the resource server requires a DPoP nonce', { 'dpop-nonce': nonce });
      }
      return count({ ok: true, token: accessToken, headers: requireNonce ? { 'dpop-nonce': nonce } : {} });
    },
  };
}

function withoutQuery(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.search = '';
    parsed.hash = '';
    return parsed.href;
  } catch {
    return url;
  }
}

function freshNonce(): string {
  return randomBytes(16).toString('base64url');
}

function forgetOld(seen: Map<string, number>, nowS: number): void {
  for (const [jti, until] of seen) if (until < nowS) seen.delete(jti);
}
