/**
 * The HelseID client's settings from the configuration, or undefined when HelseID is not
 * configured (HELSEID_ISSUER unset). The private keys arrive as JWK text (HELSEID_PRIVATE_KEY or
 * HELSEID_PRIVATE_KEY_FILE); a key that cannot be read stops the start with the variable's name,
 * never its value.
 */
import type { JWK } from 'jose';
import type { Config } from '../platform/config.ts';
import { signingKeyFromJwk } from './dpop.ts';
import type { HelseIdSettings } from './helseid.ts';

export function helseIdSettings(config: Config): HelseIdSettings | undefined {
  if (config.HELSEID_ISSUER === undefined) return undefined;
  return {
    issuer: config.HELSEID_ISSUER,
    clientId: config.HELSEID_CLIENT_ID ?? '',
    clientJwk: privateJwk(config.HELSEID_PRIVATE_KEY, 'HELSEID_PRIVATE_KEY'),
    scopes: (config.HELSEID_SCOPES ?? '').split(/\s+/).filter((scope) => scope !== ''),
    assertionLifetimeS: config.HELSEID_ASSERTION_LIFETIME_S,
    clockSkewS: config.HELSEID_CLOCK_SKEW_S,
    parentOrganisation: config.HELSEID_PARENT_ORGNR,
    childOrganisation: config.HELSEID_CHILD_ORGNR,
    dpopJwk:
      config.HELSEID_DPOP_KEY === undefined ? undefined : privateJwk(config.HELSEID_DPOP_KEY, 'HELSEID_DPOP_KEY'),
  };
}

function privateJwk(text: string | undefined, name: string): JWK {
  let jwk: unknown;
  try {
    jwk = JSON.parse(text ?? '');
  } catch {
    throw new Error(`${name} must be a JWK: a JSON object (it is not JSON; not shown)`);
  }
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) {
    throw new Error(`${name} must be a JWK: a JSON object (not shown)`);
  }
  // Read once here so a wrong key stops the start rather than the first delivery.
  signingKeyFromJwk(jwk, name);
  return jwk;
}
