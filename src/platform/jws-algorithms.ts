/**
 * The asymmetric JWS algorithms of RSA and elliptic-curve keys (RFC 7518 §3.1), the ones
 * HelseID's services accept. `none` and the HMAC family are never among them: with public keys
 * in a JWKS, an HS256 token "signed" with a public key is the classic forgery.
 */
export const RSA_AND_EC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
] as const;
