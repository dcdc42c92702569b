/**
 * EHR_AUTH_MODE=helseid from the configuration: the variables it needs, the rules between them,
 * and private keys that are read but never shown.
 */
import { generateKeyPairSync } from 'node:crypto';
import { helseIdSettings } from '../../../src/delivery/helseid-settings.ts';
import { loadConfig, type Config } from '../../../src/platform/config.ts';

const jwk = JSON.stringify({
  ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }),
  kid: 'k-2026',
});
const HELSEID = {
  AUTH_MODE: 'off',
  EHR_AUTH_MODE: 'helseid',
  HELSEID_ISSUER: 'https://helseid-sts.test.nhn.no',
  HELSEID_CLIENT_ID: 'hit-bridge',
  HELSEID_PRIVATE_KEY: jwk,
  HELSEID_SCOPES: 'e-helse:ehr/write nhn:msh/api',
  HELSEID_EHR_AUDIENCE: 'e-helse:ehr',
};

function config(env: Record<string, string>): Config {
  const result = loadConfig(env);
  if (!result.ok) throw new Error(result.errors.join('; '));
  return result.config;
}

describe('EHR_AUTH_MODE=helseid', () => {
  test('needs the issuer and the EHR audience; with an issuer, the client id, private key and scopes', () => {
    const result = loadConfig({ AUTH_MODE: 'off', EHR_AUTH_MODE: 'helseid' });
    expect(!result.ok && result.errors).toEqual([
      'HELSEID_ISSUER is required when EHR_AUTH_MODE is helseid (it is missing)',
      'HELSEID_EHR_AUDIENCE is required when EHR_AUTH_MODE is helseid (it is missing)',
    ]);
    const issuerOnly = loadConfig({ AUTH_MODE: 'off', HELSEID_ISSUER: 'https://helseid-sts.test.nhn.no' });
    expect(!issuerOnly.ok && issuerOnly.errors).toEqual([
      'HELSEID_CLIENT_ID is required when HELSEID_ISSUER is set (it is missing)',
      'HELSEID_PRIVATE_KEY is required when HELSEID_ISSUER is set (it is missing)',
      'HELSEID_SCOPES is required when HELSEID_ISSUER is set (it is missing)',
    ]);
  });

  test('the EHR audience must have a scope; lifetime at most 60 s; organisation numbers 9 digits; the key never shown', () => {
    const result = loadConfig({
      ...HELSEID,
      HELSEID_EHR_AUDIENCE: 'e-helse:other',
      HELSEID_ASSERTION_LIFETIME_S: '61',
      HELSEID_PARENT_ORGNR: '12345',
    });
    const errors = !result.ok ? result.errors : [];
    expect(errors).toEqual(
      expect.arrayContaining([
        'HELSEID_ASSERTION_LIFETIME_S must be at most 60 (got "61")',
        'HELSEID_PARENT_ORGNR must be an organisation number: 9 digits (got "12345")',
      ]),
    );
    const scopeErrors = loadConfig({ ...HELSEID, HELSEID_EHR_AUDIENCE: 'e-helse:other' });
    expect(!scopeErrors.ok && scopeErrors.errors).toEqual([
      'HELSEID_SCOPES must hold a scope starting with "e-helse:other/" (HELSEID_EHR_AUDIENCE) when EHR_AUTH_MODE is helseid (it has none)',
    ]);
    const badKey = loadConfig({ ...HELSEID, HELSEID_PRIVATE_KEY: 'x', HELSEID_CLOCK_SKEW_S: 'soon' });
    expect(JSON.stringify(!badKey.ok && badKey.errors)).not.toContain(jwk.slice(10, 40));
  });

  test('settings: scopes split, defaults 10 s and 5 s, keys read from the JWK text', () => {
    const settings = helseIdSettings(config({ ...HELSEID, HELSEID_CHILD_ORGNR: '999999999' }));
    expect(settings).toMatchObject({
      issuer: 'https://helseid-sts.test.nhn.no',
      clientId: 'hit-bridge',
      scopes: ['e-helse:ehr/write', 'nhn:msh/api'],
      assertionLifetimeS: 10,
      clockSkewS: 5,
      childOrganisation: '999999999',
      dpopJwk: undefined,
    });
    expect(settings?.clientJwk.kid).toBe('k-2026');
    expect(helseIdSettings(config({ AUTH_MODE: 'off' }))).toBeUndefined();
  });

  test('a key that is not a private JWK stops the start, naming the variable, never the value', () => {
    const publicOnly = JSON.stringify({ ...JSON.parse(jwk), d: undefined });
    expect(() => helseIdSettings(config({ ...HELSEID, HELSEID_PRIVATE_KEY: 'not-json-secret' }))).toThrow(
      'HELSEID_PRIVATE_KEY must be a JWK: a JSON object (it is not JSON; not shown)',
    );
    expect(() => helseIdSettings(config({ ...HELSEID, HELSEID_PRIVATE_KEY: publicOnly }))).toThrow(
      'HELSEID_PRIVATE_KEY must be a private JWK (it has no "d")',
    );
  });
});
