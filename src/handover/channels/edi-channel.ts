/**
 * The `edi` channel: the handover as a Dialogmelding in a MsgHead, sent through Norsk Helsenett's
 * message service (EDI 2.0) to the centre's HER-id, then followed until its application receipt.
 *
 * A repeated send (the job retried after a crash between sending and recording) carries the same
 * MsgId: NHN gives the second transport message a new id, but the receiver's system recognises
 * the MsgId it already holds (docs/adr/0019-edi-message-id-per-handover.md, docs/adr/0020).
 */
import type { EdiAppRecError, EdiMessageService, EdiReceiverState } from '../../delivery/edi-message-service.ts';
import type { Outcome } from '../../delivery/ehr.ts';
import { frisklivssentralInput } from '../packets.ts';
import { buildFrisklivssentralMessage } from '../edi/frisklivssentral-message.ts';
import type { SenderIdentity } from '../edi/sender-identity.ts';
import type { ChannelResult, HandoverChannel, PendingReceipt, ReceiptError, ReceiptReading } from './channel.ts';
import { failureWords } from './channel.ts';

export interface EdiChannelDeps {
  readonly messageService: EdiMessageService;
  readonly sender: SenderIdentity;
  readonly clock: () => Date;
}

export function createEdiChannel(deps: EdiChannelDeps): HandoverChannel {
  return {
    name: 'edi',
    async send({ facts, recipient }, signal): Promise<ChannelResult> {
      const message = await buildFrisklivssentralMessage(frisklivssentralInput(facts), deps.sender);
      const receiverHerId = Number(recipient.herId);
      const sent = await deps.messageService.send(
        { businessDocument: message.xml, receiverHerIds: [receiverHerId] },
        signal,
      );
      if (!sent.ok) {
        if (sent.failure.retriable) {
          return {
            kind: 'retry',
            step: "sending the Dialogmelding through NHN's message service",
            failure: sent.failure,
          };
        }
        // NHN refuses what it can never deliver (an unknown receiver, a sender the token may not
        // send for): the centre would get nothing, so the handover fails where someone sees it.
        return {
          kind: 'refused',
          failsHandover: true,
          message: `NHN's message service refused the Dialogmelding to ${recipient.name} (HER-id ${recipient.herId}): ${failureWords(sent.failure)}.`,
          detail: { httpStatus: sent.failure.httpStatus ?? null, msgId: message.msgId },
        };
      }
      const sentAt = deps.clock().toISOString();
      const pending: PendingReceipt = {
        channel: 'edi',
        messageId: sent.result.messageId,
        msgId: message.msgId,
        receiverHerId: recipient.herId,
        sentAt,
      };
      return {
        kind: 'sent',
        message: `Dialogmelding with the plan as PDF sent to ${recipient.name} (HER-id ${recipient.herId}) through Norsk Helsenett; waiting for its application receipt.`,
        detail: { channel: 'edi', messageId: pending.messageId, msgId: pending.msgId, receiverHerId: recipient.herId },
        pending,
      };
    },

    async readReceipt(pending, signal): Promise<Outcome<ReceiptReading>> {
      const receipts = await deps.messageService.receipts(pending.messageId, signal);
      if (!receipts.ok) return receipts;
      const state = receipts.result.find((r) => String(r.receiverHerId) === pending.receiverHerId);
      return { ok: true, result: readingOf(state) };
    },
  };
}

/** Pure: what one receiver's status and receipt say, in the handover's terms. */
function readingOf(state: EdiReceiverState | undefined): ReceiptReading {
  if (state === undefined) return { kind: 'waiting', transport: 'not listed yet' };
  const appRec = state.appRec;
  if (appRec !== undefined) {
    const errors = appRec.errors.map(receiptError);
    if (appRec.status === 'Rejected') return { kind: 'rejected', by: 'receiver', errors };
    return { kind: 'received', warnings: appRec.status === 'OkErrorInMessagePart' ? errors : [] };
  }
  if (state.transport === 'Rejected') {
    return {
      kind: 'rejected',
      by: 'transport',
      errors: [{ code: 'transport', description: "Norsk Helsenett's transport did not deliver it to the receiver" }],
    };
  }
  return { kind: 'waiting', transport: state.transport };
}

function receiptError(error: EdiAppRecError): ReceiptError {
  const words = [error.description, error.details].filter((w): w is string => w !== undefined && w.trim() !== '');
  return { code: error.code, description: words.length === 0 ? '(no description)' : [...new Set(words)].join(': ') };
}
