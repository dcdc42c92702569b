/**
 * The KITH/Hdir code values the handover message uses, each with where it was confirmed. The
 * sample messages are KS's synthetic test messages vendored in third_party/kith-xsd/examples/.
 */

/** A coded value as MsgHead and Dialogmelding write it (attributes V, DN and, where it has one, S). */
export interface KithCode {
  readonly V: string;
  readonly DN: string;
  readonly S?: string;
}

export const KITH = {
  /** Code system 8279 "Meldingens funksjon"; value and DN as in the Dialogmelding 1.1 sample. */
  messageType: { V: 'DIALOG_HELSEFAGLIG', DN: 'Helsefaglig dialog' },
  /** Fixed by MsgHead-v1_2.xsd (MIGversion fixed="v1.2 2006-05-24"). */
  msgHeadMigVersion: 'v1.2 2006-05-24',
  /** An application receipt is wanted: Ack V="J" as in the Dialogmelding 1.0 samples. */
  ackWanted: { V: 'J', DN: 'Ja' },
  herId: { V: 'HER', DN: 'HER-id', S: '2.16.578.1.12.4.1.1.9051' },
  /** The organisation number, as the Dialogmelding 1.0 samples identify an organisation by it. */
  organisationNumber: { V: 'ENH', DN: 'Organisasjonsnummeret i Enhetsregister', S: '2.16.578.1.12.4.1.1.9051' },
  /** Code system 8116 "ID-type for personer"; FNR as in the Dialogmelding 1.1 sample. */
  fodselsnummer: { V: 'FNR', DN: 'Fødselsnummer', S: '2.16.578.1.12.4.1.1.8116' },
  /**
   * UNCONFIRMED: DNR in code system 8116 is not in any vendored sample or schema annotation; it is
   * the value Norwegian systems are known to use for a D-number. Check against the code list
   * (volven.no) before production.
   */
  dNummer: { V: 'DNR', DN: 'D-nummer', S: '2.16.578.1.12.4.1.1.8116' },
  /**
   * Code system 7322 "Tema for helsefaglig dialog" (the Dialogmelding 1.1 sample uses this system
   * for Notat/TemaKodet). UNCONFIRMED value: 6 "Henvendelse om pasient" comes from KS's code list
   * in ks-no/fiks-nhn-client, not from a vendored file or the official code list.
   */
  notatTheme: { V: '6', DN: 'Henvendelse om pasient', S: '2.16.578.1.12.4.1.1.7322' },
  /** RefDoc/MsgType of the business document and of an attachment, as in the 1.1 sample. */
  refDocXml: { V: 'XML', DN: 'XML-instans' },
  refDocAttachment: { V: 'A', DN: 'Vedlegg' },
} as const satisfies Record<string, KithCode | string>;

export const NAMESPACES = {
  msgHead: 'http://www.kith.no/xmlstds/msghead/2006-05-24',
  dialogmelding: 'http://www.kith.no/xmlstds/dialog/2013-01-23',
  base64Container: 'http://www.kith.no/xmlstds/base64container',
  appRec10: 'http://www.kith.no/xmlstds/apprec/2004-11-21',
  appRec11: 'http://www.kith.no/xmlstds/apprec/2012-02-15',
} as const;
