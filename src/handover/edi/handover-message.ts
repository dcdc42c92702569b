/**
 * The Frisklivssentral's handover as a Norwegian e-message: a MsgHead 1.2 "Helsefaglig dialog"
 * from the hospital's department to the Frisklivssentral (both by HER-id), about the patient (by
 * fødselsnummer or D-number and name), carrying a Dialogmelding 1.1 Notat with the plan as plain
 * text and the printable plan as a PDF attachment (Base64Container).
 *
 * The MsgId is derived from the discharge and the receiver, never drawn at random: every
 * redelivery of one handover carries the same MsgId, so a receiver that already holds it sees a
 * duplicate, not a second handover (docs/adr/0019-edi-message-id-per-handover.md). The element
 * order follows MsgHead-v1_2.xsd and dialogmelding-v1.1.xsd; code values are in kith-codes.ts.
 * Pure: no clock (generatedAt comes in the facts), no I/O.
 */
import XMLBuilder from 'fast-xml-builder';
import { deterministicUuid, osloCalendarDate } from '../../../mappings/common.ts';
import { parseNationalId } from '../../domain/national-id.ts';
import type { HandoverFacts } from '../types.ts';
import { KITH, NAMESPACES, type KithCode } from './kith-codes.ts';
import type { SenderIdentity } from './sender-identity.ts';

export interface HandoverMessageInput {
  readonly facts: HandoverFacts;
  readonly sender: SenderIdentity;
  /** The Notat's subject line and plain text. */
  readonly subject: string;
  readonly text: string;
  /** The printable plan; its file name is shown to the caseworker. */
  readonly pdf: { readonly fileName: string; readonly bytes: Uint8Array };
}

export interface HandoverMessage {
  readonly msgId: string;
  /** The MsgHead document, UTF-8, with its XML declaration. */
  readonly xml: string;
}

/** The one MsgId of a discharge's handover to one receiver, the same on every redelivery. */
export function handoverMsgId(facts: HandoverFacts): string {
  const { source, dischargeId } = facts.discharge;
  return deterministicUuid(`msghead|${source}|discharge/${dischargeId}|her/${facts.frisklivssentral.herId}`);
}

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  textNodeName: '#text',
  format: true,
  indentBy: '  ',
  suppressEmptyNode: true,
  processEntities: true,
});

function coded(code: KithCode): Record<string, string> {
  return { '@_V': code.V, '@_DN': code.DN, ...(code.S === undefined ? {} : { '@_S': code.S }) };
}

function ident(id: string, type: KithCode): Record<string, unknown> {
  return { Id: id, TypeId: coded(type) };
}

export function buildHandoverMessage(input: HandoverMessageInput): HandoverMessage {
  const { facts, sender } = input;
  const msgId = handoverMsgId(facts);
  const patient = facts.discharge.patient;
  const parsed = parseNationalId(patient.nationalId);
  // The discharge input is validated before it is stored; an invalid id here is a bug.
  if (!parsed.ok) throw new Error(`handover received an invalid national id: ${parsed.reason}`);
  const dNumber = parsed.value.kind === 'd-number' || parsed.value.kind === 'synthetic-d-number';
  const receiver = facts.frisklivssentral;
  const issued = facts.generatedAt;

  const msgHead = {
    '@_xmlns': NAMESPACES.msgHead,
    MsgInfo: {
      Type: coded(KITH.messageType),
      MIGversion: KITH.msgHeadMigVersion,
      GenDate: issued,
      MsgId: msgId,
      Ack: coded(KITH.ackWanted),
      Sender: {
        Organisation: {
          OrganisationName: sender.organisation.name,
          Ident: [
            ident(sender.organisation.herId, KITH.herId),
            ident(sender.organisation.organisationNumber, KITH.organisationNumber),
          ],
          Organisation: {
            OrganisationName: sender.department.name,
            Ident: ident(sender.department.herId, KITH.herId),
          },
        },
      },
      Receiver: {
        Organisation: {
          OrganisationName: receiver.name,
          Ident: [ident(receiver.herId, KITH.herId), ident(receiver.organisationNumber, KITH.organisationNumber)],
        },
      },
      Patient: {
        // Only the given name travels through the discharge input; the receiver matches the
        // patient by the national id, which MsgHead makes the identifying element.
        GivenName: patient.givenName,
        Ident: ident(patient.nationalId, dNumber ? KITH.dNummer : KITH.fodselsnummer),
      },
    },
    Document: [
      {
        RefDoc: {
          IssueDate: { '@_V': issued },
          MsgType: coded(KITH.refDocXml),
          Content: {
            Dialogmelding: {
              '@_xmlns': NAMESPACES.dialogmelding,
              Notat: {
                TemaKodet: coded(KITH.notatTheme),
                Tema: input.subject,
                TekstNotatInnhold: input.text,
                DatoNotat: osloCalendarDate(issued),
              },
            },
          },
        },
      },
      {
        RefDoc: {
          IssueDate: { '@_V': issued },
          MsgType: coded(KITH.refDocAttachment),
          MimeType: 'application/pdf',
          Description: input.pdf.fileName,
          Content: {
            Base64Container: {
              '@_xmlns': NAMESPACES.base64Container,
              '#text': Buffer.from(input.pdf.bytes).toString('base64'),
            },
          },
        },
      },
    ],
  };
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build({ MsgHead: msgHead })}`;
  return { msgId, xml };
}
