/**
 * The dips-arena EHR profile (docs/adr/0021-dips-arena-profile.md): what DIPS Arena takes of a
 * record, shaped from the Bundle the generic mapping made — so the clinical meaning (HRmax, zones,
 * the narrative) is computed once, in one place, and the two profiles cannot drift apart.
 *
 * DIPS Arena publishes a profile for Procedure (DIPSR4Procedure) and none a hit-bridge record
 * could be written as otherwise: its Observation API is vital signs and lab only, and it has no
 * ServiceRequest, CarePlan or Goal (docs/reference/dips.md §2). So:
 * - a session becomes one Procedure conforming to DIPSR4Procedure: one NCMP coding (OBAB00 in
 *   7220) and the NCMP category, the care episode by identifier, the patient by national id or
 *   D-number, the therapist by HPR number, performed as a Period, hit-bridge's business
 *   identifier in the External_Identifier slice, and the generic narrative as its text (intervals,
 *   heart rate, time in zone, Borg, the prescription it carried out and the clinic's note);
 * - a fitness test and a prescription send nothing to the EHR: their Bundle has no entry.
 * Nothing is lost: every input is kept whole in hit-bridge's store (the ADR).
 *
 * Entries are plain creates (no If-None-Exist): DIPS declares no conditional create and no
 * update, so the delivery worker searches by the business identifier before it creates.
 *
 * Pure: no clock, no I/O.
 */
import type { Bundle, Identifier, Procedure, Reference } from 'fhir/r4.js';
import type { RecordKind } from '../src/kinds/kinds.ts';
import { fullUrlFor, searchToken } from './common.ts';
import { DIPS, IDENTIFIER_SYSTEMS, OBAB00, SYSTEMS } from './terminology.ts';

/** Whether a record kind reaches a DIPS Arena EHR at all (the others are kept by hit-bridge only). */
const DIPS_ARENA_WRITES: { readonly [K in RecordKind]: boolean } = {
  'hit-sessions': true,
  'fitness-tests': false,
  prescriptions: false,
};

/** The record kinds whose input must name the care episode when the profile is dips-arena. */
export const EPISODE_FIELD = 'episodeId';

/**
 * The dips-arena Bundle for a record, from the generic Bundle of the same input and the care
 * episode the sender named. Inputs are validated before mapping (the episode id is required
 * under this profile), so a missing one here is a bug.
 */
export function shapeForDipsArena(kind: RecordKind, generic: Bundle, episodeId: string | undefined): Bundle {
  const anchor = generic.identifier;
  if (anchor === undefined) throw new Error('a generic Bundle without its business identifier');
  const shaped: Bundle = { resourceType: 'Bundle', identifier: externalIdentifier(anchor), type: 'transaction' };
  if (!DIPS_ARENA_WRITES[kind]) return { ...shaped, entry: [] };
  if (episodeId === undefined)
    throw new Error(`a ${kind} input without ${EPISODE_FIELD} reached the dips-arena shaping`);
  const procedure = generic.entry?.find((entry) => entry.resource?.resourceType === 'Procedure')?.resource;
  if (procedure?.resourceType !== 'Procedure') throw new Error(`the generic ${kind} Bundle has no Procedure`);
  const resource = dipsProcedure(procedure, episodeId);
  const identifier = resource.identifier?.[0] ?? anchor;
  return {
    ...shaped,
    entry: [{ fullUrl: fullUrlFor(identifier), resource, request: { method: 'POST', url: 'Procedure' } }],
  };
}

function dipsProcedure(generic: Procedure, episodeId: string): Procedure {
  const identifier = generic.identifier?.[0];
  const period = generic.performedPeriod;
  const performer = generic.performer?.[0]?.actor.identifier;
  if (identifier === undefined || period === undefined || performer === undefined) {
    throw new Error('the generic training Procedure lacks its identifier, period or performer');
  }
  return {
    resourceType: 'Procedure',
    meta: { profile: [DIPS.procedureProfile] },
    // The one place DIPS has for what it has no element for: the generic narrative (ADR 0021).
    ...(generic.text === undefined ? {} : { text: generic.text }),
    identifier: [externalIdentifier(identifier)],
    status: 'completed',
    category: { coding: [{ ...DIPS.ncmpCategory }] },
    code: {
      coding: [{ ...OBAB00, system: SYSTEMS.ncmpDips }],
      ...(generic.code?.text === undefined ? {} : { text: generic.code.text }),
    },
    subject: identifierOnly(generic.subject),
    encounter: { identifier: { system: DIPS.careEpisodeSystem, value: episodeId } },
    performedPeriod: period,
    performer: [{ actor: { identifier: { system: IDENTIFIER_SYSTEMS.hpr, value: performer.value ?? '' } } }],
  } satisfies Procedure;
}

/** DIPS's External_Identifier slice forbids use, type, period and assigner: system and value only. */
function externalIdentifier(identifier: Identifier): Identifier {
  return { system: identifier.system ?? '', value: identifier.value ?? '' };
}

/**
 * A reference by identifier only: DIPS resolves the national id or D-number itself, and a
 * conditional reference (Patient?identifier=…) means something only inside a transaction.
 */
function identifierOnly(reference: Reference): Reference {
  const identifier = reference.identifier;
  if (identifier === undefined) throw new Error('a generic reference without its identifier');
  return { identifier: externalIdentifier(identifier) };
}

/** The search that finds a record's resource in DIPS before creating it (there is no conditional create). */
export function identifierSearch(identifier: Identifier): { readonly identifier: string } {
  return { identifier: searchToken(externalIdentifier(identifier)) };
}
