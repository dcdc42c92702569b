/**
 * The Frisklivssentral's packet (its staff are health personnel): a FHIR R4 document Bundle and
 * the same content as a printable HTML page.
 *
 * The document: Bundle (type document, identifier, timestamp; profile
 * hit-discharge-training-plan-bundle) whose first entry is the Composition "Treningsplan ved
 * utskrivning" (profile hit-discharge-training-plan), then what its sections reference: the
 * patient, the hospital and the Frisklivssentral as Organizations, the prescription
 * (ServiceRequest) and the test results (Observations) as the EHR holds them.
 *
 * Composition.type is SNOMED CT 390893007 "Referral to physical activity program", the code
 * docs/reference/terminology.md §5 gives for the referral to the municipality; no LOINC document code for a training
 * plan handed over at discharge is in the reference, so none is invented. Composition.event is
 * SNOMED CT 308283009 "Discharge from hospital" (docs/reference/terminology.md §5).
 *
 * Copies of EHR resources keep their business identifiers, profiles and narratives; their
 * server ids go, and every reference is pointed at the document's own entry where the target is
 * in the document (by business identifier or EHR id), or else kept as a logical reference by
 * identifier, so the document is whole without access to the EHR. Pure: no clock, no I/O.
 */
import type {
  Bundle,
  BundleEntry,
  Composition,
  CompositionSection,
  FhirResource,
  Identifier,
  Observation,
  Organization,
  Patient,
  Reference,
  ServiceRequest,
} from 'fhir/r4.js';
import {
  deterministicUuid,
  escapeXml,
  formatDateNo,
  formatDateTimeNo,
  formatNumberNo,
  narrative,
  osloCalendarDate,
} from '../../mappings/common.ts';
import { CANONICAL_BASE, IDENTIFIER_SYSTEMS, profileUrl, SNOMED } from '../../mappings/terminology.ts';
import { parseNationalId } from '../domain/national-id.ts';
import type { Attendance } from './attendance.ts';
import type { FitnessResults } from './fitness-results.ts';
import {
  frisklivssentralSections,
  signedPercentNo,
  type Section,
  type SectionKey,
} from './frisklivssentral-sections.ts';
import { renderPage } from './html-page.ts';
import type { PrescriptionPlan } from './prescription-plan.ts';
import type { FrisklivssentralPacket, HandoverFacts } from './types.ts';

export const HANDOVER_PROFILES = {
  bundle: profileUrl('hit-discharge-training-plan-bundle'),
  composition: profileUrl('hit-discharge-training-plan'),
} as const;

export const DOCUMENT_TITLE = 'Treningsplan ved utskrivning';

export interface DocumentInput {
  readonly facts: HandoverFacts;
  readonly plan: PrescriptionPlan;
  readonly results: FitnessResults;
  readonly attendance: Attendance;
}

export function buildFrisklivssentralPacket(input: DocumentInput): FrisklivssentralPacket {
  return {
    recipient: 'frisklivssentral',
    bundle: frisklivssentralDocument(input),
    html: frisklivssentralHtml(input),
  };
}

/** Business identifiers of the document and its parts: one discharge, one document. */
function documentIdentifier(facts: HandoverFacts, role: string): Identifier {
  const { source, dischargeId } = facts.discharge;
  return { use: 'official', system: `${CANONICAL_BASE}/sid/${source}`, value: `discharge/${dischargeId}/${role}` };
}

function localUrl(facts: HandoverFacts, role: string): string {
  const id = documentIdentifier(facts, role);
  return `urn:uuid:${deterministicUuid(`${id.system ?? ''}|${id.value ?? ''}`)}`;
}

function identifierKey(identifier: Identifier | undefined): string | undefined {
  return identifier?.system === undefined || identifier.value === undefined
    ? undefined
    : `${identifier.system}|${identifier.value}`;
}

function frisklivssentralDocument(input: DocumentInput): Bundle {
  const { facts } = input;
  const nationalId = facts.discharge.patient.nationalId;
  const parsed = parseNationalId(nationalId);
  // The discharge input is validated before it is stored; an invalid id here is a bug.
  if (!parsed.ok) throw new Error(`handover received an invalid national id: ${parsed.reason}`);
  const patientIdentifier: Identifier = { system: parsed.value.identifierSystem, value: nationalId };

  const urls = {
    patient: localUrl(facts, 'patient'),
    hospital: localUrl(facts, 'hospital'),
    frisklivssentral: localUrl(facts, 'frisklivssentral'),
    composition: localUrl(facts, 'composition'),
  };
  const patientRef: Reference = { reference: urls.patient, type: 'Patient', identifier: patientIdentifier };
  const hospitalRef: Reference = {
    reference: urls.hospital,
    type: 'Organization',
    display: facts.hospitalContact.organisation,
  };
  const frisklivRef: Reference = {
    reference: urls.frisklivssentral,
    type: 'Organization',
    display: facts.frisklivssentral.name,
  };

  // Copies of what the EHR holds, addressed by their business identifiers.
  const copies: { resource: ServiceRequest | Observation; fullUrl: string }[] = [
    facts.prescription,
    ...input.results.sources,
  ].map((resource) => {
    const key = identifierKey(resource.identifier?.[0]) ?? `${resource.resourceType}/${resource.id ?? ''}`;
    return { resource, fullUrl: `urn:uuid:${deterministicUuid(key)}` };
  });
  const byIdentifier = new Map<string, string>([[identifierKey(patientIdentifier) ?? '', urls.patient]]);
  const byEhrId = new Map<string, string>();
  for (const copy of copies) {
    const key = identifierKey(copy.resource.identifier?.[0]);
    if (key !== undefined) byIdentifier.set(key, copy.fullUrl);
    if (copy.resource.id !== undefined) byEhrId.set(`${copy.resource.resourceType}/${copy.resource.id}`, copy.fullUrl);
  }
  const resolve = (reference: Reference): string | undefined => {
    const key = identifierKey(reference.identifier);
    if (key !== undefined && byIdentifier.has(key)) return byIdentifier.get(key);
    if (reference.type === 'Patient' || reference.reference?.startsWith('Patient')) return urls.patient;
    const match = /(?:^|\/)([A-Za-z]+\/[A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/u.exec(reference.reference ?? '');
    return match?.[1] === undefined ? undefined : byEhrId.get(match[1]);
  };
  const entryOf = (copy: { resource: ServiceRequest | Observation; fullUrl: string }): BundleEntry => ({
    fullUrl: copy.fullUrl,
    resource: documentCopy(copy.resource, resolve),
  });

  const prescriptionEntry = copies[0];
  const observationUrls = copies.slice(1).map((copy) => ({
    reference: copy.fullUrl,
    type: 'Observation',
  }));
  const sections = frisklivssentralSections(input, { chart: false });
  const entriesOf: Record<SectionKey, Reference[]> = {
    prescription:
      prescriptionEntry === undefined ? [] : [{ reference: prescriptionEntry.fullUrl, type: 'ServiceRequest' }],
    results: observationUrls,
    attendance: [],
    summary: [],
    contact: [hospitalRef, frisklivRef, patientRef],
  };

  const composition: Composition = {
    resourceType: 'Composition',
    meta: { profile: [HANDOVER_PROFILES.composition] },
    text: narrative(compositionSummaryXhtml(input)),
    identifier: documentIdentifier(facts, 'composition'),
    status: 'final',
    type: { coding: [{ ...SNOMED.referralToPhysicalActivityProgram }], text: DOCUMENT_TITLE },
    subject: patientRef,
    date: facts.generatedAt,
    author: [hospitalRef],
    title: DOCUMENT_TITLE,
    custodian: hospitalRef,
    event: [
      { code: [{ coding: [{ ...SNOMED.dischargeFromHospital }] }], period: { start: facts.discharge.dischargedAt } },
    ],
    section: sections.map((section) => compositionSection(section, entriesOf[section.key])),
  };

  return {
    resourceType: 'Bundle',
    meta: { profile: [HANDOVER_PROFILES.bundle] },
    identifier: documentIdentifier(facts, 'document'),
    type: 'document',
    timestamp: facts.generatedAt,
    entry: [
      { fullUrl: urls.composition, resource: composition },
      { fullUrl: urls.patient, resource: patientResource(facts, patientIdentifier) },
      { fullUrl: urls.hospital, resource: hospitalResource(facts) },
      { fullUrl: urls.frisklivssentral, resource: frisklivssentralResource(facts) },
      ...copies.map(entryOf),
    ],
  };
}

function compositionSection(section: Section, entry: Reference[]): CompositionSection {
  return {
    title: section.title,
    text: narrative(section.xhtml),
    ...(entry.length === 0 ? {} : { entry }),
  };
}

function compositionSummaryXhtml(input: DocumentInput): string {
  const { facts, plan, attendance } = input;
  const vo2 = input.results.vo2maxChange;
  const lines = [
    `${DOCUMENT_TITLE} for ${facts.discharge.patient.givenName}, utskrevet ${formatDateNo(osloCalendarDate(facts.discharge.dischargedAt))}.`,
    `Treningsperiode ${formatDateNo(plan.start)}–${formatDateNo(plan.end)}; ${attendance.done} av ${attendance.prescribed} økter gjennomført.`,
    ...(vo2 === undefined || vo2.changePercent === undefined
      ? []
      : [
          `VO2maks ${formatNumberNo(vo2.first.value)} → ${formatNumberNo(vo2.last.value)} mL/kg/min (${signedPercentNo(vo2.changePercent)}).`,
        ]),
    `Fra ${facts.hospitalContact.organisation} til ${facts.frisklivssentral.name}.`,
  ];
  return lines.map((line) => `<p>${escapeXml(line)}</p>`).join('');
}

function patientResource(facts: HandoverFacts, identifier: Identifier): Patient {
  const { givenName, phone, email } = facts.discharge.patient;
  const telecom = [
    ...(phone === undefined ? [] : [{ system: 'phone' as const, value: phone }]),
    ...(email === undefined ? [] : [{ system: 'email' as const, value: email }]),
  ];
  return {
    resourceType: 'Patient',
    text: narrative(`<p>Pasient: ${escapeXml(givenName)}</p>`),
    identifier: [identifier],
    name: [{ given: [givenName] }],
    ...(telecom.length === 0 ? {} : { telecom }),
  };
}

function hospitalResource(facts: HandoverFacts): Organization {
  const contact = facts.hospitalContact;
  const telecom = [
    ...(contact.phone === undefined ? [] : [{ system: 'phone' as const, value: contact.phone }]),
    ...(contact.email === undefined ? [] : [{ system: 'email' as const, value: contact.email }]),
  ];
  return {
    resourceType: 'Organization',
    text: narrative(`<p>${escapeXml(contact.organisation)}, kontakt: ${escapeXml(contact.name)}</p>`),
    name: contact.organisation,
    contact: [{ name: { text: contact.name }, ...(telecom.length === 0 ? {} : { telecom }) }],
  };
}

function frisklivssentralResource(facts: HandoverFacts): Organization {
  const f = facts.frisklivssentral;
  return {
    resourceType: 'Organization',
    text: narrative(`<p>${escapeXml(f.name)}</p>`),
    identifier: [
      { system: IDENTIFIER_SYSTEMS.herId, value: f.herId },
      { system: IDENTIFIER_SYSTEMS.organisationNumber, value: f.organisationNumber },
    ],
    name: f.name,
    telecom: [
      { system: 'phone', value: f.phone },
      { system: 'email', value: f.email },
    ],
  };
}

/**
 * An EHR resource as a document entry: without its server id and version, every reference
 * pointed at the document's own entry or else left logical (identifier and type only).
 */
export function documentCopy<T extends FhirResource>(
  resource: T,
  resolve: (reference: Reference) => string | undefined,
): T {
  const profile = resource.meta?.profile;
  const without = (object: object, drop: readonly string[]): Record<string, unknown> =>
    Object.fromEntries(Object.entries(object).filter(([key]) => !drop.includes(key)));
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (value === null || typeof value !== 'object') return value;
    const object = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rewrite(v)]));
    if (typeof object.reference !== 'string') return object;
    const local = resolve(object);
    if (local !== undefined) return { ...object, reference: local };
    const logical = without(object, ['reference']);
    return 'identifier' in logical || 'display' in logical ? logical : { ...logical, display: 'Ikke med i dokumentet' };
  };
  // The EHR's server id and version mean nothing outside it; the profile stays.
  const copy = rewrite(without(resource, ['id', 'meta'])) as T;
  return { ...copy, ...(profile === undefined ? {} : { meta: { profile } }) };
}

// ---- The printed page ----

function frisklivssentralHtml(input: DocumentInput): string {
  const { facts } = input;
  const sections = frisklivssentralSections(input, { chart: true });
  const body = sections
    .map((section) => `<section><h2>${escapeXml(section.title)}</h2>${section.xhtml}</section>`)
    .join('');
  return renderPage({
    kicker: `Til ${facts.frisklivssentral.name}`,
    title: DOCUMENT_TITLE,
    meta: [
      ['Pasient', `${facts.discharge.patient.givenName}, ${idLabel(facts.discharge.patient.nationalId)}`],
      ['Utskrevet', formatDateNo(osloCalendarDate(facts.discharge.dischargedAt))],
      ['Fra', facts.hospitalContact.organisation],
    ],
    bodyHtml: body,
    footer:
      `Laget ${formatDateTimeNo(facts.generatedAt)} av hit-bridge fra pasientjournalen. ` +
      'Inneholder helseopplysninger: for helsepersonell ved Frisklivssentralen, behandles etter helsepersonelloven.',
  });
}

/** "fødselsnummer 15838812381" or "D-nummer …": the health personnel identify the patient by it. */
function idLabel(nationalId: string): string {
  const parsed = parseNationalId(nationalId);
  const dNumber = parsed.ok && (parsed.value.kind === 'd-number' || parsed.value.kind === 'synthetic-d-number');
  return `${dNumber ? 'D-nummer' : 'fødselsnummer'} ${nationalId}`;
}
