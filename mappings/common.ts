/**
 * What every mapping shares: business identifiers, conditional references to what the EHR owns
 * (Patient, Practitioner, the prescription), transaction entries created only if none exists,
 * deterministic fullUrls, and Norwegian narrative. Pure: no clock, no I/O, no randomness — the
 * same input always gives the same Bundle, byte for byte (golden tests rely on it).
 */
import { hash } from 'node:crypto';
import type { Bundle, BundleEntry, FhirResource, Identifier, Narrative, Reference } from 'fhir/r4.js';
import { ageOn, parseNationalId, type NationalId } from '../src/domain/national-id.ts';
import { osloWallClock } from '../src/domain/oslo-time.ts';
import { CANONICAL_BASE, IDENTIFIER_SYSTEMS } from './terminology.ts';

/**
 * The shape of what the EHR receives (docs/adr/0021-dips-arena-profile.md): `generic` is richly
 * linked FHIR R4 for any conformant server; `dips-arena` is what DIPS Arena's published profiles
 * take. The clinical meaning is computed once, the same for both.
 */
export const EHR_PROFILES = ['generic', 'dips-arena'] as const;
export type EhrProfile = (typeof EHR_PROFILES)[number];

export function isEhrProfile(value: unknown): value is EhrProfile {
  return (EHR_PROFILES as readonly unknown[]).includes(value);
}

/** Deployment choices a mapping needs; passed in, never read from the environment here. */
export interface MappingOptions {
  readonly ehrProfile: EhrProfile;
  /**
   * Generic profile only: also code OBAB00 with urn:oid:2.16.578.1.12.4.1.1.7220, as DIPS codes
   * NCMP (docs/reference/dips.md §1). Off by default; kept for deployments that set the old
   * NCMP_DIPS_CODING.
   */
  readonly ncmpDipsCoding: boolean;
}

export const DEFAULT_MAPPING_OPTIONS: MappingOptions = { ehrProfile: 'generic', ncmpDipsCoding: false };

export type InputKind = 'session' | 'fitness-test' | 'prescription' | 'discharge';

/**
 * The business identifier of one resource made from one input: the system names the sending
 * system (`source`), the value the input and the resource's role in it, e.g.
 * `session/S-2026-0042/hr-interval-2`. Input ids and sources cannot contain "/" (the schemas
 * forbid it), so two different inputs never share a value.
 */
export function businessIdentifier(source: string, kind: InputKind, inputId: string, role?: string): Identifier {
  return {
    use: 'official',
    system: `${CANONICAL_BASE}/sid/${source}`,
    value: role === undefined ? `${kind}/${inputId}` : `${kind}/${inputId}/${role}`,
  };
}

export function searchToken(identifier: Identifier): string {
  return `${identifier.system ?? ''}|${identifier.value ?? ''}`;
}

/**
 * The patient, by national id, as a conditional reference the EHR resolves to its own Patient
 * (hit-bridge never creates one). The identifier stays on the reference as well, so the link
 * survives in systems that keep references logical.
 */
export function patientReference(nationalId: string): Reference {
  const parsed = parseNationalId(nationalId);
  // Inputs are validated before mapping; an invalid id here is a bug, not bad input.
  if (!parsed.ok) throw new Error(`mapping received an invalid national id: ${parsed.reason}`);
  return referenceToPatient(parsed.value);
}

/** patientReference for an id already parsed (patientOn parses it too: once is enough). */
export function referenceToPatient(id: NationalId): Reference {
  const identifier = { system: id.identifierSystem, value: id.id };
  return { reference: `Patient?identifier=${searchToken(identifier)}`, identifier, type: 'Patient' };
}

export function practitionerReference(hprNumber: string): Reference {
  const identifier = { system: IDENTIFIER_SYSTEMS.hpr, value: hprNumber };
  return { reference: `Practitioner?identifier=${searchToken(identifier)}`, identifier, type: 'Practitioner' };
}

/** A reference to a resource hit-bridge itself created earlier, by its business identifier. */
export function conditionalReference(resourceType: string, identifier: Identifier): Reference {
  return { reference: `${resourceType}?identifier=${searchToken(identifier)}`, identifier, type: resourceType };
}

/** A UUID derived from text (SHA-256, formatted as a version-8 UUID), for stable urn:uuid fullUrls. */
export function deterministicUuid(text: string): string {
  const hex = hash('sha256', text, 'hex');
  const variant = ((parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export function fullUrlFor(identifier: Identifier): string {
  return fullUrlOfToken(searchToken(identifier));
}

function fullUrlOfToken(searchToken: string): string {
  return `urn:uuid:${deterministicUuid(searchToken)}`;
}

/** A transaction entry that creates the resource only if none with its business identifier exists. */
export function createOnce<T extends FhirResource & { identifier?: Identifier[] | undefined }>(
  resource: T,
  /** Its fullUrl when the caller already derived it (a hash each: resources reference each other). */
  fullUrl?: string,
): BundleEntry<T> {
  const identifier = resource.identifier?.[0];
  if (identifier === undefined) throw new Error(`${resource.resourceType} without a business identifier`);
  const token = searchToken(identifier);
  return {
    fullUrl: fullUrl ?? fullUrlOfToken(token),
    resource,
    request: { method: 'POST', url: resource.resourceType, ifNoneExist: `identifier=${token}` },
  };
}

export function transactionBundle(identifier: Identifier, entries: BundleEntry[]): Bundle {
  return { resourceType: 'Bundle', identifier, type: 'transaction', entry: entries };
}

// ---- Narrative (Norwegian bokmål) ----

const XML_SPECIAL = /[&<>"']/;

export function escapeXml(text: string): string {
  // Most narrative text has nothing to escape; testing first skips the copy and the callbacks.
  return XML_SPECIAL.test(text) ? text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`) : text;
}

const NARRATIVE_OPEN = '<div xmlns="http://www.w3.org/1999/xhtml">';

/** XHTML narrative from already-escaped fragments (use `escapeXml` on every piece of input text). */
export function narrative(xhtml: string): Narrative {
  return { status: 'generated', div: `${NARRATIVE_OPEN}${xhtml}</div>` };
}

/** A row of a label → value table: the label, and its value or undefined to leave the row out. */
export type TableRow = readonly [label: string, value: string | undefined];

// A row's markup up to its value, per label: labels are the mappings' own few dozen words, so it is
// built (the label escaped) once, not for every row of every narrative; bounded, in case a label is
// ever built from input.
const ROW_OPENINGS = new Map<string, string>();

function rowOpening(label: string): string {
  let opening = ROW_OPENINGS.get(label);
  if (opening === undefined) {
    opening = `<tr><th>${escapeXml(label)}</th><td>`;
    if (ROW_OPENINGS.size < 1_000) ROW_OPENINGS.set(label, opening);
  }
  return opening;
}

function tableXhtml(rows: readonly TableRow[], escapeValues: boolean): string {
  let xhtml = '<table>';
  for (const [label, value] of rows) {
    if (value !== undefined) xhtml += `${rowOpening(label)}${escapeValues ? escapeXml(value) : value}</td></tr>`;
  }
  return `${xhtml}</table>`;
}

/**
 * The XHTML of a two-column table of label → value (rows without a value are left out), for
 * narratives with more than one section. Labels and values are escaped here.
 */
export function labelledTableXhtml(rows: readonly TableRow[]): string {
  return tableXhtml(rows, true);
}

/** A two-column table of label → value, the shape most narratives take. Title and values are escaped here. */
export function narrativeTable(title: string, rows: readonly TableRow[]): Narrative {
  return narrative(`<p><b>${escapeXml(title)}</b></p>${tableXhtml(rows, true)}`);
}

/**
 * labelledTableXhtml for values that are XHTML already: text a mapping writes itself from numbers
 * and its own words (none of which holds an XML special character), with any text from the input
 * escaped by the caller (escapeXml). Most of a session's narrative is such text, and testing every
 * value for characters it cannot hold was a tenth of the mapping's time (bench/README.md,
 * docs/adr/0046-session-narratives-escape-input-text-where-it-goes-in.md).
 */
export function xhtmlTable(rows: readonly TableRow[]): string {
  return tableXhtml(rows, false);
}

/** narrativeTable for a title and values that are XHTML already (see xhtmlTable). */
export function xhtmlNarrativeTable(titleXhtml: string, rows: readonly TableRow[]): Narrative {
  return narrative(`<p><b>${titleXhtml}</b></p>${tableXhtml(rows, false)}`);
}

const twoDigits = (value: number): string => String(value).padStart(2, '0');

/** "23.11.2026 kl. 10.15", in Norwegian time whatever offset the input carried. */
export function formatDateTimeNo(isoDateTime: string): string {
  const clock = osloWallClock(new Date(isoDateTime));
  return `${twoDigits(clock.day)}.${twoDigits(clock.month)}.${String(clock.year)} kl. ${twoDigits(clock.hour)}.${twoDigits(clock.minute)}`;
}

/** The calendar day (YYYY-MM-DD) an instant falls on in Norway, whatever offset the input carried. */
export function osloCalendarDate(isoDateTime: string): string {
  const clock = osloWallClock(new Date(isoDateTime));
  return `${String(clock.year)}-${twoDigits(clock.month)}-${twoDigits(clock.day)}`;
}

/**
 * What a mapping needs to know of the patient from the national id: birth date, legal sex, and
 * the age in whole years on the day of the event (a date, or an instant taken as its day in
 * Norway). Inputs are validated before mapping, so an id or date that fails here is a bug.
 */
export function patientOn(nationalId: string, when: string): { readonly id: NationalId; readonly age: number } {
  const parsed = parseNationalId(nationalId);
  if (!parsed.ok) throw new Error(`mapping received an invalid national id: ${parsed.reason}`);
  const day = /^\d{4}-\d{2}-\d{2}$/.test(when) ? when : osloCalendarDate(when);
  const age = ageOn(parsed.value.birthDate, day);
  if (!age.ok) throw new Error(`mapping could not work out the patient's age: ${age.reason}`);
  return { id: parsed.value, age: age.value };
}

/** "23.11.2026" from a date (YYYY-MM-DD), without time-zone arithmetic. */
export function formatDateNo(isoDate: string): string {
  const [year, month, day] = isoDate.slice(0, 10).split('-');
  return `${day ?? ''}.${month ?? ''}.${year ?? ''}`;
}

// Building an Intl.NumberFormat costs about a hundred times what formatting with one does, and a
// session's narrative formats dozens of numbers (bench/README.md: it was most of the mapping time).
const NUMBER_FORMATS = new Map<number, Intl.NumberFormat>();

function intlFormatNo(value: number, maximumFractionDigits: number): string {
  let format = NUMBER_FORMATS.get(maximumFractionDigits);
  if (format === undefined) {
    format = new Intl.NumberFormat('nb-NO', { maximumFractionDigits, useGrouping: false });
    NUMBER_FORMATS.set(maximumFractionDigits, format);
  }
  return format.format(value);
}

/** Norwegian decimal comma: 42.5 → "42,5". */
export function formatNumberNo(value: number, maximumFractionDigits = 1): string {
  // A whole non-negative number reads the same in every locale without grouping (nb-NO writes a
  // negative with U+2212, so those still go through Intl).
  if (Number.isSafeInteger(value) && value >= 0) return String(value);
  // Even with the format kept, Intl was a tenth of a session's mapping time. For a positive number
  // JavaScript writes in plain notation, rounding that text (the shortest decimal that reads back
  // as the number, which is what Intl rounds too) half away from zero is what Intl's default
  // rounding gives; a unit test holds the two together at random values. The rest goes to Intl.
  const text = value > 0 ? String(value) : '';
  const dot = text.indexOf('.');
  if (dot === -1 || text.includes('e')) return intlFormatNo(value, maximumFractionDigits);
  return roundedDecimalNo(text, dot, maximumFractionDigits);
}

/** Plain decimal text ("152.35", its "." at `dot`) rounded half away from zero, with a decimal comma. */
function roundedDecimalNo(text: string, dot: number, fractionDigits: number): string {
  if (text.length - dot - 1 <= fractionDigits) return `${text.slice(0, dot)},${text.slice(dot + 1)}`;
  const kept = text.slice(0, dot) + text.slice(dot + 1, dot + 1 + fractionDigits);
  const digits = text.charCodeAt(dot + 1 + fractionDigits) >= 0x35 /* "5" */ ? incrementedDigits(kept) : kept;
  const whole = digits.slice(0, digits.length - fractionDigits);
  const fraction = digits.slice(digits.length - fractionDigits).replace(/0+$/, '');
  return fraction === '' ? whole : `${whole},${fraction}`;
}

/** "129" → "130", "99" → "100": one added to a string of decimal digits. */
function incrementedDigits(digits: string): string {
  let end = digits.length;
  while (end > 0 && digits.charAt(end - 1) === '9') end -= 1;
  const carried = '0'.repeat(digits.length - end);
  if (end === 0) return `1${carried}`;
  return `${digits.slice(0, end - 1)}${String(Number(digits.charAt(end - 1)) + 1)}${carried}`;
}
