/**
 * The DPoP resource-server check the test peers share: a good request passes, and each way of
 * getting it wrong is refused with its reason. Tokens come from a local signing key standing in
 * for the authorization server; proofs are made by hit-bridge's own proof code.
 */
import { generateKeyPairSync } from 'node:crypto';
import { createLocalJWKSet, exportJWK, SignJWT, type JWK } from 'jose';
import { dpopProof, generateDpopKey, jwkThumbprint, type SigningKey } from '../../../src/delivery/dpop.ts';
import { createDpopGuard, type DpopRequest } from '../../peers/dpop-guard.ts';

const ISSUER = 'http://kc.example/realms/r';
const URL_ = 'http://ehr.example/fhir';
const issuerKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
let clock = Date.parse('2026-12-05T10:00:00Z');
const nowS = (): number => Math.floor(clock / 1000);

async function guardWith(options: { requireNonce?: boolean; audience?: string } = {}) {
  const jwk = { ...(await exportJWK(issuerKey)), kid: 'k1', alg: 'ES256' };
  delete (jwk as JWK).d;
  return createDpopGuard({ issuer: ISSUER, jwks: createLocalJWKSet({ keys: [jwk] }), now: () => clock, ...options });
}

async function tokenBoundTo(key: SigningKey, claims: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({ cnf: { jkt: await jwkThumbprint(key.publicJwk) }, ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuer(ISSUER)
    .setAudience('e-helse:ehr')
    .setIssuedAt(nowS())
    .setExpirationTime(nowS() + 300)
    .sign(issuerKey);
}

async function request(
  key: SigningKey,
  token: string,
  proof: Partial<{ method: string; url: string; nonce: string; accessToken: string; key: SigningKey }> = {},
): Promise<DpopRequest> {
  const signed = await dpopProof(proof.key ?? key, {
    method: proof.method ?? 'POST',
    url: proof.url ?? URL_,
    nowS: nowS(),
    nonce: proof.nonce,
    accessToken: proof.accessToken ?? token,
  });
  return { method: 'POST', url: URL_, authorization: `DPoP ${token}`, dpop: [signed] };
}

describe('the DPoP guard', () => {
  test('accepts a token bound to the proof key with a proof for this request', async () => {
    const guard = await guardWith({ audience: 'e-helse:ehr' });
    const key = generateDpopKey();
    const token = await tokenBoundTo(key);
    const verdict = await guard.check(await request(key, token));
    expect(verdict.ok).toBe(true);
    expect(guard.counts).toEqual({ accepted: 1 });
  });

  test.each([
    ['a proof for another URL', { url: 'http://ehr.example/fhir/Patient' }, /the proof is for URL/],
    ['a proof for another method', { method: 'GET' }, /the proof is for method GET/],
    ['a proof for another token (ath)', { accessToken: 'another-token' }, /ath is not the hash/],
  ])('refuses %s', async (_what, change, reason) => {
    const guard = await guardWith();
    const key = generateDpopKey();
    const token = await tokenBoundTo(key);
    const verdict = await guard.check(await request(key, token, change));
    expect(verdict.ok).toBe(false);
    if (verdict.ok) return;
    expect(verdict.status).toBe(401);
    expect(verdict.error).toBe('invalid_dpop_proof');
    expect(verdict.description).toMatch(reason);
    expect(verdict.headers['www-authenticate']).toMatch(
      /^DPoP algs="[^"]+", error="invalid_dpop_proof", error_description="/,
    );
  });

  test('a query on the request URL does not matter: htu is compared without it', async () => {
    const guard = await guardWith();
    const key = generateDpopKey();
    const token = await tokenBoundTo(key);
    const sent = await request(key, token);
    expect((await guard.check({ ...sent, url: `${URL_}?_count=200` })).ok).toBe(true);
  });

  test('refuses a replayed proof (same jti)', async () => {
    const guard = await guardWith();
    const key = generateDpopKey();
    const token = await tokenBoundTo(key);
    const sent = await request(key, token);
    expect((await guard.check(sent)).ok).toBe(true);
    const again = await guard.check(sent);
    expect(!again.ok && again.description).toMatch(/jti has been used before/);
  });

  test('refuses a proof signed by another key than the token’s cnf.jkt', async () => {
    const guard = await guardWith();
    const key = generateDpopKey();
    const token = await tokenBoundTo(key);
    const verdict = await guard.check(await request(key, token, { key: generateDpopKey() }));
    expect(verdict.ok).toBe(false);
    if (verdict.ok) return;
    expect(verdict.status).toBe(401);
    expect(verdict.error).toBe('invalid_token');
    expect(verdict.description).toMatch(/another key than the one the token is bound to/);
  });

  test('refuses a bound token sent as Bearer', async () => {
    const guard = await guardWith();
    const key = generateDpopKey();
    const token = await tokenBoundTo(key);
    const sent = await request(key, token);
    const verdict = await guard.check({ ...sent, authorization: `Bearer ${token}` });
    expect(!verdict.ok && verdict.status).toBe(401);
    expect(!verdict.ok && verdict.description).toMatch(/sent with the Bearer scheme/);
  });

  test('refuses a token without cnf, a token from another issuer, and a token for another audience', async () => {
    const guard = await guardWith({ audience: 'nhn:msh' });
    const key = generateDpopKey();
    const unbound = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(ISSUER)
      .setAudience('nhn:msh')
      .setExpirationTime(nowS() + 60)
      .sign(issuerKey);
    const noCnf = await guard.check(await request(key, unbound));
    expect(!noCnf.ok && noCnf.description).toMatch(/not DPoP-bound/);
    const wrongAudience = await guard.check(await request(key, await tokenBoundTo(key)));
    expect(!wrongAudience.ok && wrongAudience.description).toMatch(/aud/);
  });

  test('refuses a proof that is too old or from the future, and one with private key material in its jwk', async () => {
    const guard = await guardWith();
    const key = generateDpopKey();
    const token = await tokenBoundTo(key);
    const old = await request(key, token);
    clock += 10_000;
    const late = await guard.check(old);
    expect(!late.ok && late.description).toMatch(/iat is outside/);
    const leaky: SigningKey = { ...key, publicJwk: key.privateKey.export({ format: 'jwk' }) };
    const leaked = await guard.check(await request(key, token, { key: leaky }));
    expect(!leaked.ok && leaked.description).toMatch(/private key material/);
  });

  test('refuses a request with no proof or two proofs', async () => {
    const guard = await guardWith();
    const key = generateDpopKey();
    const token = await tokenBoundTo(key);
    const sent = await request(key, token);
    expect(await guard.check({ ...sent, dpop: [] })).toMatchObject({ ok: false, description: 'no DPoP proof header' });
    const two = await guard.check({ ...sent, dpop: [...sent.dpop, ...sent.dpop] });
    expect(!two.ok && two.description).toMatch(/more than one/);
  });

  test('demanding a nonce: a proof without it gets 401 use_dpop_nonce with DPoP-Nonce; one with it passes', async () => {
    const guard = await guardWith({ requireNonce: true });
    const key = generateDpopKey();
    const token = await tokenBoundTo(key);
    const challenged = await guard.check(await request(key, token));
    expect(challenged.ok).toBe(false);
    if (challenged.ok) return;
    expect(challenged.status).toBe(401);
    expect(challenged.headers['www-authenticate']).toMatch(/error="use_dpop_nonce"/);
    const nonce = challenged.headers['dpop-nonce'] ?? '';
    expect(nonce).not.toBe('');
    const answered = await guard.check(await request(key, token, { nonce }));
    expect(answered.ok).toBe(true);
    expect(guard.counts).toEqual({ use_dpop_nonce: 1, accepted: 1 });
  });
});
