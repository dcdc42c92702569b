/**
 * The stand-in for a DIPS Arena hospital: a second HAPI FHIR server (the same launcher as
 * hapi.ts) that holds every Procedure to DIPS's own profile, DIPSR4Procedure, whatever the
 * Procedure declares — as DIPS does — with DIPS Core IG's profiles loaded at start from
 * third_party/dips-core-ig/ as DIPS published them (differentials; HAPI's own snapshot generator
 * makes the snapshots). Its base URL is DIPS_EHR_BASE_URL. See docs/adr/0022-dips-configured-hapi-peer.md.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHapi, type HapiOptions } from './hapi.ts';
import type { PeerOptions, RunningPeer } from './peer.ts';

export const DIPS_IG_DIR = join(import.meta.dirname, '..', '..', 'third_party', 'dips-core-ig');
export const DIPS_PROCEDURE_PROFILE = 'http://dips.no/fhir/R4/StructureDefinition/DIPSR4Procedure';

/**
 * What HAPI's validator reports about DIPSR4Procedure itself, not about a resource: its
 * External_Identifier slice fixes no system though the identifiers are sliced by system, so every
 * identifier is "SLICING_CANNOT_BE_EVALUATED" — DIPS's own example Procedure too. Passed over on
 * write, and by the tests' $validate checks; every other error still refuses the resource.
 */
export const DIPS_PROFILE_DEFECTS: readonly string[] = ['SLICING_CANNOT_BE_EVALUATED'];

export async function startHapiDips(options: PeerOptions & HapiOptions): Promise<RunningPeer> {
  const hapi = await startHapi({
    ...options,
    requiredProfiles: { Procedure: DIPS_PROCEDURE_PROFILE },
    profileDefectsIgnored: DIPS_PROFILE_DEFECTS,
  });
  try {
    await loadDipsProfiles(hapi.url);
  } catch (error) {
    await hapi.stop();
    throw error;
  }
  return { ...hapi, name: 'hapi-dips', env: { DIPS_EHR_BASE_URL: hapi.url } };
}

/** PUT by id, so loading twice changes nothing. */
async function loadDipsProfiles(base: string): Promise<void> {
  for (const file of readdirSync(DIPS_IG_DIR).filter((name) => name.startsWith('StructureDefinition-'))) {
    const resource = JSON.parse(readFileSync(join(DIPS_IG_DIR, file), 'utf8')) as { id: string };
    const response = await fetch(`${base}/StructureDefinition/${resource.id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify(resource),
    });
    if (!response.ok)
      throw new Error(`hapi-dips: loading ${file} failed (${response.status}): ${await response.text()}`);
  }
}
