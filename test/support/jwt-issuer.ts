/**
 * A stand-in authorization server for tests of the token check: keys made here with jose, a
 * JWKS and an OpenID discovery document served over HTTP on loopback, and tokens signed as an
 * issuer would. (The real one, Keycloak, is a peer: see test/peers/.)
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

export const ALL_SCOPES = 'hit.write hit.read handover.ack admin';

export interface TestIssuer {
  /** The issuer URL (iss), which also serves /.well-known/openid-configuration. */
  readonly issuer: string;
  readonly jwksUrl: string;
  readonly audience: string;
  /** How many times the JWKS was fetched. */
  readonly jwksFetches: () => number;
  /** A token for `clientId` with these scopes, signed with the issuer's key; `claims` override any claim. */
  token(options?: {
    scope?: string;
    clientId?: string;
    claims?: Readonly<Record<string, unknown>>;
    expiresInSeconds?: number;
  }): Promise<string>;
  /** The same, signed with a key the issuer does not publish. */
  tokenFromAnotherKey(options?: { scope?: string }): Promise<string>;
  /** The public key the JWKS publishes, as a JWK and as PEM (for forging HS256 tokens with it). */
  readonly publicJwk: JWK;
  readonly publicPem: string;
  close(): Promise<void>;
}

export async function startTestIssuer(audience = 'hit-bridge'): Promise<TestIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const other = await generateKeyPair('RS256');
  const publicJwk = { ...(await exportJWK(publicKey)), kid: 'test-key-1', alg: 'RS256', use: 'sig' };
  let fetches = 0;
  let base = '';
  const server: Server = createServer((req, res) => {
    if (req.url === '/jwks') {
      fetches += 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [publicJwk] }));
    } else if (req.url === '/.well-known/openid-configuration') {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ issuer: base, jwks_uri: `${base}/jwks` }));
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const sign = (key: CryptoKey, kid: string, options: Parameters<TestIssuer['token']>[0] = {}) => {
    const now = Math.floor(Date.now() / 1000);
    // Claims given as undefined are left out, e.g. { exp: undefined } for a token that never expires.
    const payload = Object.fromEntries(
      Object.entries<unknown>({
        iss: base,
        aud: audience,
        sub: 'service-account-clinic',
        iat: now,
        exp: now + (options.expiresInSeconds ?? 300),
        scope: options.scope ?? ALL_SCOPES,
        azp: options.clientId ?? 'clinic',
        ...options.claims,
      }).filter(([, value]) => value !== undefined),
    );
    return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' }).sign(key);
  };

  return {
    issuer: base,
    jwksUrl: `${base}/jwks`,
    audience,
    jwksFetches: () => fetches,
    token: (options) => sign(privateKey, 'test-key-1', options),
    tokenFromAnotherKey: (options) => sign(other.privateKey, 'test-key-1', options),
    publicJwk,
    publicPem: await exportSPKI(publicKey),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
