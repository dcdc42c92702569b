/**
 * `hit-bridge helseid token`: what an operator checks after registering the client in HelseID's
 * self-service. It prints JSON: the token's decoded header and claims and when it expires — never
 * the token, which would be a usable credential in a terminal's scroll-back — or, with --dry-run,
 * the decoded header and claims of the client assertion and DPoP proof it would send (no
 * signatures), fetching nothing.
 */
import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { HelseIdClient } from '../delivery/helseid.ts';

export type TokenReport = { readonly ok: true; readonly json: string } | { readonly ok: false; readonly error: string };

export async function helseIdTokenReport(
  client: HelseIdClient,
  audience: string,
  dryRun: boolean,
  now: () => number = Date.now,
): Promise<TokenReport> {
  const scopes = client.scopesFor(audience);
  if (dryRun) {
    const would = await client.dryRun();
    return { ok: true, json: JSON.stringify({ audience, scopes, ...would }, null, 2) };
  }
  const got = await client.token(audience);
  if (!got.ok) return { ok: false, error: got.failure.message };
  const expiresAt = new Date(now() + got.expiresInS * 1000).toISOString();
  let decoded: { header: unknown; claims: unknown } | { opaque: true };
  try {
    decoded = { header: decodeProtectedHeader(got.accessToken), claims: decodeJwt(got.accessToken) };
  } catch {
    // A reference token: nothing to show but that it came.
    decoded = { opaque: true };
  }
  return {
    ok: true,
    json: JSON.stringify(
      { audience, scopes, tokenType: got.tokenType, expiresInS: got.expiresInS, expiresAt, ...decoded },
      null,
      2,
    ),
  };
}
