/**
 * The Frisklivssentral's handover as an e-message: the referral and the plan as the Notat's
 * plain text, the printable plan as the PDF attachment, wrapped in MsgHead (handover-message.ts).
 * The text and the PDF come from the same sections as the FHIR document and the HTML page, so
 * every form of the handover says the same.
 */
import { formatDateNo, formatDateTimeNo, osloCalendarDate } from '../../../mappings/common.ts';
import { DOCUMENT_TITLE, type DocumentInput } from '../frisklivssentral-packet.ts';
import { frisklivssentralSections } from '../frisklivssentral-sections.ts';
import { renderPlanPdf } from '../pdf/plan-pdf.ts';
import { sectionBlocks } from '../section-blocks.ts';
import { buildHandoverMessage, type HandoverMessage } from './handover-message.ts';
import { notatText } from './notat-text.ts';
import type { SenderIdentity } from './sender-identity.ts';

export interface FrisklivssentralMessage extends HandoverMessage {
  readonly pdf: Uint8Array;
}

const PDF_FILE_NAME = 'treningsplan-ved-utskrivning.pdf';

export async function buildFrisklivssentralMessage(
  input: DocumentInput,
  sender: SenderIdentity,
): Promise<FrisklivssentralMessage> {
  const { facts } = input;
  const sections = frisklivssentralSections(input, { chart: false }).map(sectionBlocks);
  const discharged = formatDateNo(osloCalendarDate(facts.discharge.dischargedAt));
  const opening =
    `Henvisning til ${facts.frisklivssentral.name}: ${facts.discharge.patient.givenName} ble utskrevet fra ` +
    `${facts.hospitalContact.organisation} ${discharged} og henvises for å fortsette treningen etter ` +
    'treningsresepten under, med de samme pulsverdiene. Pasienten har samtykket til at planen sendes dere. ' +
    `Treningsplanen er også vedlagt som PDF (${PDF_FILE_NAME}) for utskrift.`;
  const pdf = await renderPlanPdf({
    kicker: `Til ${facts.frisklivssentral.name}`,
    title: DOCUMENT_TITLE,
    meta: [
      ['Pasient', `${facts.discharge.patient.givenName}, ${facts.discharge.patient.nationalId}`],
      ['Utskrevet', discharged],
      ['Fra', facts.hospitalContact.organisation],
    ],
    sections,
    chart: { sectionKey: 'results', points: input.results.vo2max },
    footer:
      `Laget ${formatDateTimeNo(facts.generatedAt)} av hit-bridge fra pasientjournalen. ` +
      'Inneholder helseopplysninger: for helsepersonell ved Frisklivssentralen, behandles etter helsepersonelloven.',
    createdAt: facts.generatedAt,
  });
  const message = buildHandoverMessage({
    facts,
    sender,
    subject: `${DOCUMENT_TITLE}: henvisning til frisklivssentral`,
    text: notatText(sections, opening),
    pdf: { fileName: PDF_FILE_NAME, bytes: pdf },
  });
  return { ...message, pdf };
}
