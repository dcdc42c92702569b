/**
 * The EdiMessageService port: what the handover needs from Norsk Helsenett's message service
 * (EDI 2.0, API version 2; third_party/nhn-edi-openapi/msh-api-v2.json). Version 2 has no
 * notifications, so the sender follows a message by asking for its status and receipt.
 */
import type { Outcome } from './ehr.ts';

export interface EdiSendRequest {
  /** The business document (MsgHead) as UTF-8 XML text; the adapter base64-encodes it. */
  readonly businessDocument: string;
  readonly receiverHerIds?: readonly number[];
}

export interface EdiAppRecError {
  readonly code: string;
  readonly details: string;
  readonly description?: string;
}

export interface EdiReceiverState {
  readonly receiverHerId: number;
  readonly transport: 'Unconfirmed' | 'Acknowledged' | 'Rejected';
  /** Undefined until the receiver's application receipt has come. */
  readonly appRec:
    | { readonly status: 'Ok' | 'Rejected' | 'OkErrorInMessagePart'; readonly errors: readonly EdiAppRecError[] }
    | undefined;
}

export interface EdiMessageService {
  /** POST /Messages: the id NHN gave the message. Never throws for HTTP or network failures. */
  send(request: EdiSendRequest, signal?: AbortSignal): Promise<Outcome<{ readonly messageId: string }>>;
  /** GET /Messages/{id}/status, and /apprec once a receiver's receipt has come. */
  receipts(messageId: string, signal?: AbortSignal): Promise<Outcome<readonly EdiReceiverState[]>>;
}
