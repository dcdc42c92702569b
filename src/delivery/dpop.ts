/**
 * DPoP proofs (RFC 9449): a JWT, signed with a key pair the client holds, that says which request
 * it is for. An access token bound to the key's thumbprint (`cnf.jkt`) is worthless without a
 * fresh proof, so a stolen token cannot be replayed. What goes into a proof follows NHN's
 * reference client (docs/reference/helseid.md §3).
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomUUID,
  type KeyObject,
} from 'node:crypto';
import { calculateJwkThumbprint, SignJWT, type JWK } from 'jose';
import { RSA_AND_EC_ALGORITHMS } from '../platform/jws-algorithms.ts';

/** The algorithms a DPoP proof may be signed with: the ones HelseID's resource servers accept. */
export const DPOP_ALGORITHMS = RSA_AND_EC_ALGORITHMS;

export interface SigningKey {
  readonly privateKey: KeyObject;
  /** The public half as a JWK: RSA {kty, n, e}, EC {kty, crv, x, y}; never a private member. */
  readonly publicJwk: JWK;
  readonly alg: string;
}

/** A DPoP key pair for this process only: generated at start, never written anywhere. */
export function generateDpopKey(): SigningKey {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, publicJwk: publicJwkOf(privateKey), alg: 'ES256' };
}

/**
 * A private JWK read into a signing key. `alg` is the JWK's own when it has one, else the usual
 * one for its type (RSA: RS256; EC: ES256/ES384/ES512 by curve). Errors never quote the key.
 */
export function signingKeyFromJwk(jwk: JWK, what: string): SigningKey {
  if (typeof jwk.d !== 'string') throw new Error(`${what} must be a private JWK (it has no "d")`);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: { ...jwk }, format: 'jwk' });
  } catch {
    throw new Error(`${what} is not a readable RSA or EC private JWK`);
  }
  const alg = jwk.alg ?? defaultAlgorithm(privateKey);
  if (!(DPOP_ALGORITHMS as readonly string[]).includes(alg)) {
    throw new Error(`${what} has alg ${alg}; it must be one of ${DPOP_ALGORITHMS.join(', ')}`);
  }
  return { privateKey, publicJwk: publicJwkOf(privateKey), alg };
}

function defaultAlgorithm(key: KeyObject): string {
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType === 'ec' && curve === 'prime256v1') return 'ES256';
  if (key.asymmetricKeyType === 'ec' && curve === 'secp384r1') return 'ES384';
  if (key.asymmetricKeyType === 'ec' && curve === 'secp521r1') return 'ES512';
  throw new Error(`the key must be RSA or EC P-256/P-384/P-521 (got ${key.asymmetricKeyType ?? 'unknown'})`);
}

/** Only the public members: a JWK in a proof header must not carry anything private. */
function publicJwkOf(privateKey: KeyObject): JWK {
  const full = createPublicKey(privateKey).export({ format: 'jwk' });
  const members = full.kty === 'RSA' ? ['kty', 'n', 'e'] : ['kty', 'crv', 'x', 'y'];
  return Object.fromEntries(members.map((name) => [name, String(full[name])]));
}

/** RFC 7638 thumbprint of a public JWK: what an access token's `cnf.jkt` binds it to. */
export function jwkThumbprint(publicJwk: JWK): Promise<string> {
  return calculateJwkThumbprint(publicJwk, 'sha256');
}

/** `htu`: the request URL without query and fragment (RFC 9449 §4.2). */
export function htuOf(url: string): string {
  const parsed = new URL(url);
  parsed.search = '';
  parsed.hash = '';
  return parsed.href;
}

/** `ath`: base64url(SHA-256(ASCII(access token))), binding a proof to the token it travels with. */
export function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'ascii').digest('base64url');
}

export interface ProofRequest {
  readonly method: string;
  readonly url: string;
  /** Seconds since the epoch. */
  readonly nowS: number;
  /** The server's last DPoP-Nonce, when it gave one. */
  readonly nonce?: string | undefined;
  /** The access token the request carries (API calls; never at the token endpoint). */
  readonly accessToken?: string | undefined;
}

/** A fresh proof for one request: typ dpop+jwt, the public jwk, jti, htm, htu, iat (+ nonce, ath). */
export function dpopProof(key: SigningKey, request: ProofRequest): Promise<string> {
  return new SignJWT({
    htm: request.method.toUpperCase(),
    htu: htuOf(request.url),
    ...(request.nonce === undefined ? {} : { nonce: request.nonce }),
    ...(request.accessToken === undefined ? {} : { ath: accessTokenHash(request.accessToken) }),
  })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: key.alg, jwk: key.publicJwk })
    .setJti(randomUUID())
    .setIssuedAt(request.nowS)
    .sign(key.privateKey);
}
