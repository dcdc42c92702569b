/**
 * The training contact is a volunteer, not health personnel: every training-contact packet the
 * fixtures make, as JSON and as HTML, is searched for what must never reach them. The same
 * search run on the Frisklivssentral's packet (health personnel, who may see it all) finds every
 * kind of leak, so the search itself is shown to work.
 */
import { buildFrisklivssentralMessage } from '../../../src/handover/edi/frisklivssentral-message.ts';
import { EXAMPLE_SENDER } from '../../../src/handover/edi/example-handover.ts';
import { buildHandoverPackets, frisklivssentralInput } from '../../../src/handover/packets.ts';
import { trainingContactPdf } from '../../../src/handover/training-contact-packet.ts';
import { readPdf } from '../../support/pdf-text.ts';
import { factsFor } from '../../support/ehr-view.ts';
import {
  COHORT_HPR,
  COHORT_VARIANTS,
  FRISKLIVSSENTRAL,
  handoverCohort,
  type HandoverCohort,
} from '../../support/handover-cohort.ts';

type Leak = 'national-id' | 'identifier-number' | 'code' | 'test-result' | 'health-text' | 'ehr-reference';

/** Every kind of leak found in the text, with what matched. */
function leaks(text: string, cohort: HandoverCohort): Leak[] {
  const found = new Set<Leak>();
  const squeezed = text.replace(/\s/gu, '');
  if (text.includes(cohort.discharge.patient.nationalId) || /\d{11}/u.test(squeezed)) found.add('national-id');
  const digits = text.replace(/[\s.]/gu, '');
  if (
    [FRISKLIVSSENTRAL.herId, FRISKLIVSSENTRAL.organisationNumber, ...Object.values(COHORT_HPR)].some((n) =>
      digits.includes(n),
    ) ||
    // Case-sensitive: "her" is a Norwegian word ("Her er planen").
    /\b(HER|HPR|RESH)\b/u.test(text) ||
    /org\.?\s*nr|organisasjonsnummer/iu.test(text)
  ) {
    found.add('identifier-number');
  }
  if (
    /OBAB00|\b[A-Z]\d{2}\.\d+\b|\b\d{4,5}-\d\b|390893007|229065009|308283009/u.test(text) ||
    /snomed|loinc|icd-?10|ncmp|urn:oid|hit-bridge\.no\/fhir|hl7\.org|unitsofmeasure/iu.test(text)
  ) {
    found.add('code');
  }
  const vo2maxValues = cohort.fitnessTests.flatMap((t) => (t.vo2max === undefined ? [] : [t.vo2max.value.toFixed(1)]));
  if (
    /vo2|oksygenopptak|kondisjonsalder|makspuls|\b1RM\b|\d\s*kg\b/iu.test(text) ||
    vo2maxValues.some((v) => text.includes(v) || text.includes(v.replace('.', ',')))
  ) {
    found.add('test-result');
  }
  if (
    text.includes('rusbehandling') ||
    text.includes(cohort.discharge.summary.slice(0, 30)) ||
    (cohort.prescription.note !== undefined && text.includes(cohort.prescription.note))
  ) {
    found.add('health-text');
  }
  if (/(Patient|Observation|ServiceRequest|Procedure|Practitioner)\/|urn:uuid|prescription\/|RX-/u.test(text)) {
    found.add('ehr-reference');
  }
  return [...found];
}

const made = COHORT_VARIANTS.map((variant) => {
  const cohort = handoverCohort(variant);
  return { variant, cohort, packets: buildHandoverPackets(factsFor(cohort)) };
});

const trainingContactTexts = made.flatMap(({ variant, cohort, packets }) =>
  'omitted' in packets.trainingContact
    ? []
    : [
        [`${variant} JSON`, JSON.stringify(packets.trainingContact.plan), cohort] as const,
        [`${variant} HTML`, packets.trainingContact.html, cohort] as const,
      ],
);

describe('what a training-contact packet never holds', () => {
  it('is checked on every variant that makes one, in both forms', () => {
    expect(trainingContactTexts.map(([label]) => label)).toEqual([
      'typical JSON',
      'typical HTML',
      'no-contact-details JSON',
      'no-contact-details HTML',
      'interval-only-estimated-hrmax JSON',
      'interval-only-estimated-hrmax HTML',
      'strength-only JSON',
      'strength-only HTML',
      'frisklivssentral-declined JSON',
      'frisklivssentral-declined HTML',
    ]);
  });

  it.each(trainingContactTexts)(
    '%s: no national id, HER/HPR/organisation number, code, test result, health text or EHR reference',
    (_label, text, cohort) => {
      expect(leaks(text, cohort)).toEqual([]);
    },
  );

  it('the search finds every kind of leak in the Frisklivssentral packet, which may hold them', () => {
    const typical = made.find((m) => m.variant === 'typical');
    if (typical === undefined || 'omitted' in typical.packets.frisklivssentral) throw new Error('no packet');
    const { bundle, html } = typical.packets.frisklivssentral;
    expect(leaks(JSON.stringify(bundle), typical.cohort).sort()).toEqual([
      'code',
      'ehr-reference',
      'health-text',
      'identifier-number',
      'national-id',
      'test-result',
    ]);
    expect(leaks(html, typical.cohort)).toEqual(expect.arrayContaining(['national-id', 'test-result', 'health-text']));
  });

  describe('the printable PDF for the patient to carry', () => {
    const withPacket = made.filter(({ packets }) => !('omitted' in packets.trainingContact));

    it.each(withPacket.map((m) => [m.variant, m] as const))(
      '%s: its text holds none of it either, and it is the plan (pulse zone, contact)',
      async (_variant, { cohort, packets }) => {
        if ('omitted' in packets.trainingContact) throw new Error('no packet');
        const reading = await readPdf(await trainingContactPdf(packets.trainingContact.plan));
        expect(reading.pages).toBeGreaterThanOrEqual(1);
        expect(reading.text).toContain(`Treningsplan for ${cohort.discharge.patient.givenName}`);
        expect(reading.text).toContain(FRISKLIVSSENTRAL.name);
        expect(leaks(reading.text, cohort)).toEqual([]);
      },
    );

    it("the same search on the Frisklivssentral's PDF (health personnel) finds its national id and results", async () => {
      const typical = made.find((m) => m.variant === 'typical');
      if (typical === undefined) throw new Error('no typical');
      const { pdf } = await buildFrisklivssentralMessage(
        frisklivssentralInput(factsFor(typical.cohort)),
        EXAMPLE_SENDER,
      );
      const text = (await readPdf(pdf)).text;
      expect(leaks(text, typical.cohort)).toEqual(
        expect.arrayContaining(['national-id', 'test-result', 'health-text']),
      );
    });
  });

  it("gives the patient's phone and e-mail only where the discharge gave them", () => {
    const plan = (variant: string) => {
      const packet = made.find((m) => m.variant === variant)?.packets.trainingContact;
      return packet === undefined || 'omitted' in packet ? undefined : packet.plan;
    };
    expect(plan('typical')?.patient).toEqual({
      givenName: 'Ola',
      phone: '+47 400 00 001',
      email: 'pasient@example.no',
    });
    expect(plan('no-contact-details')?.patient).toEqual({ givenName: 'Kari' });
  });
});
