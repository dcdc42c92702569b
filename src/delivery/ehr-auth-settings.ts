/**
 * The EHR's authentication, from the configuration: which of none / bearer / smart-backend /
 * helseid, with what. loadConfig has already checked that the variables a mode needs are there (the private key
 * may have come from EHR_PRIVATE_KEY_FILE, a mounted secret).
 */
import { effectiveEhrAuthMode, type Config } from '../platform/config.ts';
import { createFhirAuth, signingKey, type FhirAuth, type FhirAuthDeps, type FhirAuthSettings } from './fhir-auth.ts';
import type { HelseIdClient } from './helseid.ts';

/** The outbound-auth port for the EHR; with helseid, the process's HelseID client for HELSEID_EHR_AUDIENCE. */
export function createEhrAuth(config: Config, helseId: HelseIdClient | undefined, deps: FhirAuthDeps): FhirAuth {
  if (effectiveEhrAuthMode(config) !== 'helseid') return createFhirAuth(ehrAuthSettings(config), deps);
  // loadConfig has made sure HELSEID_ISSUER (hence the client) and the audience are there.
  if (helseId === undefined) throw new Error('EHR_AUTH_MODE is helseid but HELSEID_ISSUER is unset');
  return helseId.authFor(config.HELSEID_EHR_AUDIENCE ?? '');
}

function ehrAuthSettings(config: Config): FhirAuthSettings {
  const mode = effectiveEhrAuthMode(config);
  if (mode === 'none') return { kind: 'none' };
  if (mode === 'bearer') return { kind: 'bearer', token: config.EHR_AUTH_TOKEN ?? '' };
  const privateKeyPem = config.EHR_PRIVATE_KEY ?? '';
  try {
    signingKey(privateKeyPem);
  } catch (error) {
    throw new Error(`EHR_PRIVATE_KEY: ${(error as Error).message}`, { cause: error });
  }
  return {
    kind: 'smart-backend',
    clientId: config.EHR_CLIENT_ID ?? '',
    privateKeyPem,
    ...(config.EHR_KEY_ID === undefined ? {} : { keyId: config.EHR_KEY_ID }),
    ...(config.EHR_TOKEN_URL === undefined ? {} : { tokenUrl: config.EHR_TOKEN_URL }),
    fhirBaseUrl: config.EHR_BASE_URL ?? '',
    scopes: config.EHR_SCOPES,
  };
}
