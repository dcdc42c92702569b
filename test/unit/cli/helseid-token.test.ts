/**
 * `hit-bridge helseid token`: the decoded claims and expiry, never the token; the dry run's
 * assertion and proof, decoded, with nothing fetched. HelseID is nock.
 */
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT, type JWK } from 'jose';
import nock from 'nock';
import { helseIdTokenReport } from '../../../src/cli/helseid-token.ts';
import { createHelseIdClient } from '../../../src/delivery/helseid.ts';
import { silentLogger } from '../../support/silent-logger.ts';

const ISSUER = 'https://helseid-sts.test.example';
const clientJwk = {
  ...(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }) as JWK),
  kid: 'k1',
};
const NOW = Date.parse('2026-12-05T10:00:00Z');

function client() {
  return createHelseIdClient(
    { issuer: ISSUER, clientId: 'hb', clientJwk, scopes: ['nhn:msh/api'], assertionLifetimeS: 10, clockSkewS: 5 },
    { logger: silentLogger, now: () => NOW },
  );
}

afterEach(() => {
  nock.cleanAll();
});
afterAll(() => {
  nock.enableNetConnect();
  nock.restore();
});

describe('hit-bridge helseid token', () => {
  test('prints the decoded header, claims and expiry, never the token', async () => {
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const token = await new SignJWT({ scope: 'nhn:msh/api', cnf: { jkt: 'x' } })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' })
      .setAudience('nhn:msh')
      .setIssuer(ISSUER)
      .sign(key);
    nock(ISSUER)
      .get('/.well-known/openid-configuration')
      .reply(200, { issuer: ISSUER, token_endpoint: `${ISSUER}/connect/token` });
    nock(ISSUER).post('/connect/token').reply(200, { access_token: token, token_type: 'DPoP', expires_in: 60 });
    const report = await helseIdTokenReport(client(), 'nhn:msh', false, () => NOW);
    expect(report.ok).toBe(true);
    if (!report.ok) return;
    expect(JSON.parse(report.json)).toEqual({
      audience: 'nhn:msh',
      scopes: ['nhn:msh/api'],
      tokenType: 'DPoP',
      expiresInS: 60,
      expiresAt: '2026-12-05T10:01:00.000Z',
      header: { alg: 'ES256', typ: 'at+jwt' },
      claims: { scope: 'nhn:msh/api', cnf: { jkt: 'x' }, aud: 'nhn:msh', iss: ISSUER },
    });
    expect(report.json).not.toContain(token.split('.')[2]);
  });

  test('a refusal is the error in plain words', async () => {
    nock(ISSUER)
      .get('/.well-known/openid-configuration')
      .reply(200, { issuer: ISSUER, token_endpoint: `${ISSUER}/connect/token` });
    nock(ISSUER).post('/connect/token').reply(400, { error: 'invalid_client' });
    const report = await helseIdTokenReport(client(), 'nhn:msh', false);
    expect(!report.ok && report.error).toMatch(/^HelseID refused hit-bridge's client assertion \(400 invalid_client\)/);
  });

  test('--dry-run prints the assertion and the proof decoded, without signatures, fetching nothing', async () => {
    nock.disableNetConnect();
    const report = await helseIdTokenReport(client(), 'nhn:msh', true);
    expect(report.ok).toBe(true);
    if (!report.ok) return;
    const printed = JSON.parse(report.json) as Record<
      string,
      { header: Record<string, unknown>; claims: Record<string, unknown> }
    >;
    expect(printed.clientAssertion?.header).toEqual({ alg: 'ES256', kid: 'k1', typ: 'client-authentication+jwt' });
    expect(printed.clientAssertion?.claims).toMatchObject({ iss: 'hb', sub: 'hb', aud: ISSUER, exp: NOW / 1000 + 10 });
    expect(printed.dpopProof?.header).toMatchObject({ typ: 'dpop+jwt', alg: 'ES256' });
    expect(printed.dpopProof?.claims).toMatchObject({
      htm: 'POST',
      htu: `(the token_endpoint of ${ISSUER}/.well-known/openid-configuration)`,
    });
    expect(Object.keys(printed)).toEqual(['audience', 'scopes', 'clientAssertion', 'dpopProof']);
    expect(report.json).not.toContain(String(clientJwk.d));
  });
});
