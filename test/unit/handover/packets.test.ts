import type { Composition, Observation, ServiceRequest } from 'fhir/r4.js';
import { buildHandoverPackets } from '../../../src/handover/packets.ts';
import type { FrisklivssentralPacket, HandoverPackets, TrainingContactPacket } from '../../../src/handover/types.ts';
import { Problem } from '../../../src/platform/problem.ts';
import { factsFor } from '../../support/ehr-view.ts';
import { COHORT_VARIANTS, handoverCohort, type CohortVariant } from '../../support/handover-cohort.ts';

function packetsOf(variant: CohortVariant): HandoverPackets {
  return buildHandoverPackets(factsFor(handoverCohort(variant)));
}

function frisklivssentral(packets: HandoverPackets): FrisklivssentralPacket {
  if ('omitted' in packets.frisklivssentral) throw new Error('no Frisklivssentral packet');
  return packets.frisklivssentral;
}

function trainingContact(packets: HandoverPackets): TrainingContactPacket {
  if ('omitted' in packets.trainingContact) throw new Error('no training-contact packet');
  return packets.trainingContact;
}

describe('buildHandoverPackets', () => {
  it('makes both packets when both recipients consented and a training contact is named', () => {
    const packets = packetsOf('typical');
    expect(frisklivssentral(packets).recipient).toBe('frisklivssentral');
    expect(trainingContact(packets).recipient).toBe('training-contact');
  });

  it('makes no training-contact packet without consent, and still the Frisklivssentral packet', () => {
    const packets = packetsOf('training-contact-declined');
    expect(packets.trainingContact).toEqual({ omitted: 'no-consent' });
    expect(frisklivssentral(packets).bundle.type).toBe('document');
  });

  it('says no-training-contact when the discharge names none', () => {
    const packets = packetsOf('no-training-contact');
    expect(packets.trainingContact).toEqual({ omitted: 'no-training-contact' });
    expect(frisklivssentral(packets).bundle.type).toBe('document');
  });

  it('makes no Frisklivssentral packet without consent, and still the training-contact packet', () => {
    const packets = packetsOf('frisklivssentral-declined');
    expect(packets.frisklivssentral).toEqual({ omitted: 'no-consent' });
    expect(trainingContact(packets).plan.patient.givenName).toBe('Ola');
  });

  it('is pure: the same facts give the same packets, byte for byte', () => {
    const facts = factsFor(handoverCohort('typical'));
    expect(JSON.stringify(buildHandoverPackets(facts))).toBe(JSON.stringify(buildHandoverPackets(facts)));
  });

  it('refuses a prescription it cannot read with a permanent Problem', () => {
    const facts = factsFor(handoverCohort('typical'));
    const broken = { ...facts, prescription: { ...facts.prescription, occurrenceTiming: {} } };
    expect(() => buildHandoverPackets(broken)).toThrow(Problem);
    try {
      buildHandoverPackets(broken);
    } catch (error) {
      expect((error as Problem).retriable).toBe(false);
    }
  });
});

describe('packets from the structured dose', () => {
  /** The prescription as the mapping wrote it before the dose extensions: each component only as its sentence. */
  const withoutDose = (sr: ServiceRequest): ServiceRequest => ({
    ...sr,
    orderDetail: (sr.orderDetail ?? []).map((detail) => ({ text: detail.text ?? '' })),
  });

  it.each(COHORT_VARIANTS)(
    '%s: equal the packets built from the same prescription without it, but for the copy of the prescription itself',
    (variant) => {
      const facts = factsFor(handoverCohort(variant));
      const fromStructure = buildHandoverPackets(facts);
      const fromText = buildHandoverPackets({ ...facts, prescription: withoutDose(facts.prescription) });
      // The Frisklivssentral's document carries a copy of the ServiceRequest as the EHR holds it:
      // that copy has the extensions in one case and not in the other, and is the only difference.
      for (const entry of 'omitted' in fromStructure.frisklivssentral
        ? []
        : (fromStructure.frisklivssentral.bundle.entry ?? [])) {
        if (entry.resource?.resourceType === 'ServiceRequest') entry.resource = withoutDose(entry.resource);
      }
      expect(JSON.stringify(fromStructure)).toBe(JSON.stringify(fromText));
    },
  );
});

describe('the Frisklivssentral document for the typical stay', () => {
  const packet = frisklivssentral(packetsOf('typical'));
  const composition = packet.bundle.entry?.[0]?.resource as Composition;

  it('opens with the Composition "Treningsplan ved utskrivning", final, coded as a referral to physical activity', () => {
    expect(composition.resourceType).toBe('Composition');
    expect(composition.title).toBe('Treningsplan ved utskrivning');
    expect(composition.status).toBe('final');
    expect(composition.type.coding?.[0]).toMatchObject({ system: 'http://snomed.info/sct', code: '390893007' });
    expect(packet.bundle.identifier?.value).toBe('discharge/D-typical/document');
    expect(packet.bundle.timestamp).toBe('2026-03-02T12:30:00+01:00');
  });

  it('has the five sections, each with a Norwegian narrative', () => {
    expect(composition.section?.map((s) => s.title)).toEqual([
      'Treningsresept',
      'Resultater under oppholdet',
      'Oppmøte',
      'Oppsummering fra sykehuset',
      'Kontakt',
    ]);
    for (const section of composition.section ?? []) expect(section.text?.div).toMatch(/^<div xmlns=/);
  });

  it('states the figures computed by hand for the fixture', () => {
    const text = (composition.section ?? []).map((s) => s.text?.div ?? '').join('\n');
    // HRmax 186: 85 % = 158.1 → 159 (rounded up), 95 % = 176.7 → 176 (down), 70 % = 130.2 → 130.
    expect(text).toContain('159–176 slag/min');
    expect(text).toContain('ca. 130 slag/min');
    // VO2max 42.3 → 48.7: 6.4 / 42.3 = 15.13 %.
    expect(text).toContain('42,3 → 48,7 mL/kg/min (+15,1 %)');
    // 24 sessions (3 a week × 8 weeks, none missed): 24 / 8 = 3.0 a week.
    expect(text).toContain('24 av 24 foreskrevne treningsøkter');
    expect(text).toContain('i snitt 3,0 økter per uke');
  });

  it('carries the results as Observations with every reference resolved inside the document', () => {
    const urls = new Set(packet.bundle.entry?.map((e) => e.fullUrl));
    const observations = (packet.bundle.entry ?? [])
      .map((e) => e.resource)
      .filter((r): r is Observation => r?.resourceType === 'Observation');
    expect(observations.length).toBeGreaterThan(0);
    const references = JSON.stringify(packet.bundle).match(/"reference":"[^"]*"/g) ?? [];
    for (const reference of references) {
      expect(urls.has(reference.slice('"reference":"'.length, -1))).toBe(true);
    }
  });
});
