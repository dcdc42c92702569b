/**
 * The HandoverChannel port: how a Frisklivssentral receives its packet besides the event stream.
 * One adapter per way in (edi-channel.ts: a Dialogmelding over Norsk Helsenett; fhir-channel.ts: a
 * document Bundle to the centre's FHIR endpoint; kafka-channel.ts: the event stream alone), chosen
 * per recipient by the directory's `channel` (docs/adr/0020). A new way in (document sharing, PLO)
 * is one more adapter and one more name.
 *
 * Every send is safe to repeat: the handover job that calls it is retried whole after a crash or
 * a transient failure, so an adapter must make a second send of the same handover either
 * impossible or harmless to the receiver.
 */
import type { EhrFailure, Outcome } from '../../delivery/ehr.ts';
import type { ChannelName, FrisklivssentralEntry, FrisklivssentralPacket, HandoverFacts } from '../types.ts';

interface ChannelDelivery {
  readonly facts: HandoverFacts;
  readonly packet: FrisklivssentralPacket;
  readonly recipient: FrisklivssentralEntry;
}

/** What a channel still has to learn about a message it sent: where the receiver's receipt will come from. */
export interface PendingReceipt {
  readonly channel: ChannelName;
  /** The transport's id of the message (EDI: the id NHN's message service gave it). */
  readonly messageId: string;
  /** The business document's own id (EDI: MsgHead MsgId), the same on every redelivery. */
  readonly msgId: string;
  readonly receiverHerId: string;
  /** ISO 8601: when it was sent; receipts are awaited until the acknowledgement timeout after it. */
  readonly sentAt: string;
}

export type ChannelResult =
  /** Sent; `pending` when a receipt is to follow. No `message`, no timeline entry of its own. */
  | {
      readonly kind: 'sent';
      readonly message?: string;
      readonly detail: Readonly<Record<string, unknown>>;
      readonly pending?: PendingReceipt;
    }
  /**
   * The channel refused it for good. `failsHandover`: the centre has no other way to get it (the
   * handover fails, visibly, to be fixed and replayed); otherwise the event stream still carries it.
   */
  | {
      readonly kind: 'refused';
      readonly failsHandover: boolean;
      readonly message: string;
      readonly detail: Readonly<Record<string, unknown>>;
    }
  /** A transient failure: the handover job tries again later. */
  | { readonly kind: 'retry'; readonly step: string; readonly failure: EhrFailure };

/** Where a sent message is, as far as its receipt tells. */
export type ReceiptReading =
  | { readonly kind: 'waiting'; readonly transport: string }
  /** The receiving system took it; `warnings` from an "OK, feil i delmelding" receipt. */
  | { readonly kind: 'received'; readonly warnings: readonly ReceiptError[] }
  | { readonly kind: 'rejected'; readonly by: 'receiver' | 'transport'; readonly errors: readonly ReceiptError[] };

export interface ReceiptError {
  readonly code: string;
  readonly description: string;
}

export interface HandoverChannel {
  readonly name: ChannelName;
  send(delivery: ChannelDelivery, signal?: AbortSignal): Promise<ChannelResult>;
  /** Channels whose sends carry a `pending` receipt follow it here. */
  readReceipt?(pending: PendingReceipt, signal?: AbortSignal): Promise<Outcome<ReceiptReading>>;
}

/** Words for the timeline: how a channel's failure reads, from the same shape every port fails with. */
export function failureWords(failure: EhrFailure): string {
  return `${failure.httpStatus === undefined ? 'no answer' : `answered ${String(failure.httpStatus)}`} — ${failure.message}`;
}
