/**
 * The `fhir` channel: the document Bundle POSTed to the centre's own FHIR endpoint, created only
 * if no Bundle with its identifier is there yet (If-None-Exist), so a repeated send finds the first.
 * A refusal does not fail the handover: the packet is on the event stream all the same.
 */
import { searchToken } from '../../../mappings/common.ts';
import type { Ehr } from '../../delivery/ehr.ts';
import type { ChannelResult, HandoverChannel } from './channel.ts';

/** `endpoint(baseUrl)`: a FHIR client for one centre's base URL. */
export function createFhirChannel(endpoint: (baseUrl: string) => Ehr): HandoverChannel {
  return {
    name: 'fhir',
    async send({ packet, recipient }, signal): Promise<ChannelResult> {
      const baseUrl = recipient.fhirEndpoint;
      if (baseUrl === undefined) throw new Error(`channel fhir for HER-id ${recipient.herId} without a fhirEndpoint`);
      const identifier = packet.bundle.identifier;
      const posted = await endpoint(baseUrl).create(
        packet.bundle,
        identifier === undefined ? undefined : `identifier=${searchToken(identifier)}`,
        signal,
      );
      if (posted.ok) {
        return {
          kind: 'sent',
          message: `Document sent to ${recipient.name}'s FHIR endpoint (${String(posted.result.httpStatus)}).`,
          detail: { endpoint: baseUrl, id: posted.result.id ?? null },
        };
      }
      if (posted.failure.retriable) {
        return { kind: 'retry', step: "sending to the Frisklivssentral's FHIR endpoint", failure: posted.failure };
      }
      return {
        kind: 'refused',
        failsHandover: false,
        message: `The Frisklivssentral's FHIR endpoint refused the document (${String(posted.failure.httpStatus)}): ${posted.failure.message}. It is still published on Kafka.`,
        detail: { httpStatus: posted.failure.httpStatus ?? null },
      };
    },
  };
}
