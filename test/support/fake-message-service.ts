/**
 * An in-memory EdiMessageService for unit tests of the handover: it keeps what was sent and
 * answers receipts as the test says. The real adapter and NHN's rules are tested against the EDI
 * peer (test/peers/edi-peer.ts); this only stands in for the port.
 */
import { randomUUID } from 'node:crypto';
import type { EdiMessageService, EdiReceiverState, EdiSendRequest } from '../../src/delivery/edi-message-service.ts';
import type { EhrFailure, Outcome } from '../../src/delivery/ehr.ts';

export interface SentMessage {
  readonly messageId: string;
  readonly request: EdiSendRequest;
  /** MsgHead MsgId, read from the document. */
  readonly msgId: string;
}

export interface FakeMessageService extends EdiMessageService {
  readonly sent: SentMessage[];
  /** The next sends fail with these, in order. */
  failNextSends(...failures: EhrFailure[]): void;
  /** What receipts() answers for every message from now on (default: Unconfirmed, no AppRec). */
  answerReceipts(state: Omit<EdiReceiverState, 'receiverHerId'>): void;
  readonly receiptCalls: number;
}

export const EDI_TRANSIENT: EhrFailure = {
  retriable: true,
  httpStatus: 503,
  message: 'Service Unavailable',
  operationOutcome: undefined,
  retryAfterMs: undefined,
};

export const EDI_REFUSED: EhrFailure = {
  retriable: false,
  httpStatus: 400,
  message: 'errorCode 1200: the addressees could not be deduced',
  operationOutcome: undefined,
  retryAfterMs: undefined,
};

export function createFakeMessageService(): FakeMessageService {
  const sent: SentMessage[] = [];
  const failures: EhrFailure[] = [];
  let state: Omit<EdiReceiverState, 'receiverHerId'> = { transport: 'Unconfirmed', appRec: undefined };
  let receiptCalls = 0;
  return {
    sent,
    get receiptCalls() {
      return receiptCalls;
    },
    failNextSends: (...next) => failures.push(...next),
    answerReceipts: (next) => {
      state = next;
    },
    send(request): Promise<Outcome<{ messageId: string }>> {
      const failure = failures.shift();
      if (failure !== undefined) return Promise.resolve({ ok: false, failure });
      const messageId = randomUUID();
      const msgId = /<MsgId>([^<]+)<\/MsgId>/.exec(request.businessDocument)?.[1] ?? '';
      sent.push({ messageId, request, msgId });
      return Promise.resolve({ ok: true, result: { messageId } });
    },
    receipts(messageId): Promise<Outcome<readonly EdiReceiverState[]>> {
      receiptCalls += 1;
      const message = sent.find((m) => m.messageId === messageId);
      if (message === undefined) {
        return Promise.resolve({
          ok: false,
          failure: { ...EDI_REFUSED, httpStatus: 404, message: `no message ${messageId}` },
        });
      }
      return Promise.resolve({
        ok: true,
        result: (message.request.receiverHerIds ?? []).map((receiverHerId) => ({ receiverHerId, ...state })),
      });
    },
  };
}
