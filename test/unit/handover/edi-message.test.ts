import { readFileSync } from 'node:fs';
import { XMLParser } from 'fast-xml-parser';
import { buildFrisklivssentralMessage } from '../../../src/handover/edi/frisklivssentral-message.ts';
import { handoverMsgId } from '../../../src/handover/edi/handover-message.ts';
import type { SenderIdentity } from '../../../src/handover/edi/sender-identity.ts';
import { frisklivssentralInput } from '../../../src/handover/packets.ts';
import type { HandoverFacts } from '../../../src/handover/types.ts';
import { factsFor } from '../../support/ehr-view.ts';
import { COHORT_VARIANTS, handoverCohort, type CohortVariant } from '../../support/handover-cohort.ts';
import { readPdf } from '../../support/pdf-text.ts';
import { SCHEMAS, validateAgainstXsd } from '../../support/xmllint.ts';

export const TEST_SENDER: SenderIdentity = {
  organisation: { name: 'St. Olavs hospital HF', herId: '8000001', organisationNumber: '883974832' },
  department: { name: 'Klinikk for hjertemedisin', herId: '8000002' },
};

const withFrisklivssentral = COHORT_VARIANTS.filter((v) => v !== 'frisklivssentral-declined');
const factsCache = new Map<CohortVariant, HandoverFacts>();
function facts(variant: CohortVariant): HandoverFacts {
  const cached = factsCache.get(variant) ?? factsFor(handoverCohort(variant));
  factsCache.set(variant, cached);
  return cached;
}

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', removeNSPrefix: true });
/* eslint-disable @typescript-eslint/no-unsafe-member-access -- walking parsed XML in assertions */
type Tree = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('the handover e-message (MsgHead 1.2 + Dialogmelding 1.1 + PDF)', () => {
  it.each(withFrisklivssentral)('%s: validates against the KITH schemas with xmllint', async (variant) => {
    const message = await buildFrisklivssentralMessage(frisklivssentralInput(facts(variant)), TEST_SENDER);
    expect(validateAgainstXsd(message.xml, SCHEMAS.handoverMessage)).toEqual({ valid: true });
  });

  it("the schema set accepts KS's official Dialogmelding 1.1 sample (so a failure is ours, not the set's)", () => {
    const official = readFileSync(
      new URL('../../../third_party/kith-xsd/examples/dialogmelding-1.1/samsvar-test-message.xml', import.meta.url),
      'utf8',
    );
    expect(validateAgainstXsd(official, SCHEMAS.handoverMessage)).toEqual({ valid: true });
  });

  describe('a tampered copy fails the schema check', () => {
    let xml = '';
    beforeAll(async () => {
      xml = (await buildFrisklivssentralMessage(frisklivssentralInput(facts('typical')), TEST_SENDER)).xml;
    });

    it('an unknown element in MsgInfo', () => {
      const tampered = xml.replace('<MsgId>', '<Hemmelig>x</Hemmelig><MsgId>');
      expect(tampered).not.toBe(xml);
      const verdict = validateAgainstXsd(tampered, SCHEMAS.handoverMessage);
      expect(verdict.valid).toBe(false);
      expect(JSON.stringify(verdict)).toContain('Hemmelig');
    });

    it('the Dialogmelding in a wrong namespace', () => {
      const tampered = xml.replace(
        'http://www.kith.no/xmlstds/dialog/2013-01-23',
        'http://www.kith.no/xmlstds/dialog/2006-10-11',
      );
      expect(tampered).not.toBe(xml);
      expect(validateAgainstXsd(tampered, SCHEMAS.handoverMessage).valid).toBe(false);
    });

    it('a missing required element (the MsgId)', () => {
      const tampered = xml.replace(/<MsgId>[^<]*<\/MsgId>/u, '');
      expect(validateAgainstXsd(tampered, SCHEMAS.handoverMessage).valid).toBe(false);
    });
  });

  it('carries the same MsgId for every build of one handover, and another for another discharge', async () => {
    const f = facts('typical');
    const first = await buildFrisklivssentralMessage(frisklivssentralInput(f), TEST_SENDER);
    const again = await buildFrisklivssentralMessage(
      frisklivssentralInput({ ...f, generatedAt: '2030-01-01T00:00:00Z' }),
      TEST_SENDER,
    );
    expect(again.msgId).toBe(first.msgId);
    expect(first.msgId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/u);
    const other = { ...f, discharge: { ...f.discharge, dischargeId: `${f.discharge.dischargeId}-2` } };
    expect(handoverMsgId(other)).not.toBe(first.msgId);
    // The same facts give the same bytes, the PDF included: a redelivery is the same message.
    const twice = await buildFrisklivssentralMessage(frisklivssentralInput(f), TEST_SENDER);
    expect(twice.xml).toBe(first.xml);
  });

  it('addresses sender and receiver by HER-id and names the patient by national id', async () => {
    const f = facts('typical');
    const { xml, msgId } = await buildFrisklivssentralMessage(frisklivssentralInput(f), TEST_SENDER);
    const info = (parser.parse(xml) as Tree).MsgHead.MsgInfo as Tree;
    expect(info.Type).toEqual({ V: 'DIALOG_HELSEFAGLIG', DN: 'Helsefaglig dialog' });
    expect(info.MIGversion).toBe('v1.2 2006-05-24');
    expect(info.MsgId).toBe(msgId);
    expect(info.Sender.Organisation.Ident[0]).toEqual({
      Id: 8000001,
      TypeId: { V: 'HER', DN: 'HER-id', S: '2.16.578.1.12.4.1.1.9051' },
    });
    expect(info.Sender.Organisation.Organisation.Ident.Id).toBe(8000002);
    expect(String(info.Receiver.Organisation.Ident[0].Id)).toBe(f.frisklivssentral.herId);
    expect(String(info.Patient.Ident.Id)).toBe(f.discharge.patient.nationalId);
    expect(info.Patient.Ident.TypeId.V).toBe('FNR');
    expect(info.Patient.GivenName).toBe(f.discharge.patient.givenName);
  });

  it('the Notat tells the caseworker, in Norwegian, the referral, the 4x4 pulse zone, the results and whom to call', async () => {
    const f = facts('typical');
    const { xml } = await buildFrisklivssentralMessage(frisklivssentralInput(f), TEST_SENDER);
    const notat = (parser.parse(xml) as Tree).MsgHead.Document[0].RefDoc.Content.Dialogmelding.Notat as Tree;
    const text = String(notat.TekstNotatInnhold);
    expect(text).toContain(`Henvisning til ${f.frisklivssentral.name}`);
    expect(text).toMatch(/Pulssone i dragene: \d+–\d+ slag\/min/u);
    expect(text).toContain('4x4-intervalltrening');
    expect(text).toContain('Styrketrening');
    expect(text).toContain('VO2maks');
    expect(text).toContain('42,3');
    expect(text).toContain(`Kontaktperson: ${f.hospitalContact.name}`);
    expect(text).not.toMatch(/<[a-z]/u);
  });

  it('carries hostile text (markup, ampersands, Norwegian letters) as text: still schema-valid, read back unchanged', async () => {
    const base = facts('typical');
    const hostile = '<Dialogmelding>Ærlig & ødelagt</Dialogmelding> <script>alert("å")</script>';
    const f: HandoverFacts = { ...base, discharge: { ...base.discharge, summary: hostile } };
    const { xml } = await buildFrisklivssentralMessage(frisklivssentralInput(f), TEST_SENDER);
    expect(validateAgainstXsd(xml, SCHEMAS.handoverMessage)).toEqual({ valid: true });
    const notat = (parser.parse(xml) as Tree).MsgHead.Document[0].RefDoc.Content.Dialogmelding.Notat as Tree;
    expect(String(notat.TekstNotatInnhold)).toContain(hostile);
  });

  it('attaches the plan as a PDF in a Base64Container, the bytes as rendered', async () => {
    const { xml, pdf } = await buildFrisklivssentralMessage(frisklivssentralInput(facts('typical')), TEST_SENDER);
    const attachment = (parser.parse(xml) as Tree).MsgHead.Document[1].RefDoc as Tree;
    expect(attachment.MimeType).toBe('application/pdf');
    expect(attachment.MsgType).toEqual({ V: 'A', DN: 'Vedlegg' });
    // removeNSPrefix drops the xmlns attribute, so the container parses as its text.
    const bytes = Buffer.from(String(attachment.Content.Base64Container), 'base64');
    expect(bytes.equals(Buffer.from(pdf))).toBe(true);
    expect(bytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');
  });
});

describe('the printable plan (PDF)', () => {
  it('opens as a PDF of at least one page with the plan in Norwegian: pulse zone, session table, VO2max chart, whom to call', async () => {
    const f = facts('typical');
    const { pdf } = await buildFrisklivssentralMessage(frisklivssentralInput(f), TEST_SENDER);
    const reading = await readPdf(pdf);
    expect(reading.pages).toBeGreaterThanOrEqual(1);
    expect(reading.text).toContain('Treningsplan ved utskrivning');
    expect(reading.text).toContain('Økta minutt for minutt');
    expect(reading.text).toContain('159–176');
    expect(reading.text).toContain('VO2maks, mL/kg/min'); // the chart's axis title
    expect(reading.text).toContain('Oppsummering fra sykehuset');
    expect(reading.text).toContain(f.hospitalContact.name);
    expect(reading.text).toMatch(/[æøå]/u);
  });
});
