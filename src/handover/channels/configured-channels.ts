/**
 * The channels this installation can send through, from its configuration, and a start-up word
 * for every directory entry whose channel it cannot: such a centre gets the event stream alone
 * until the channel is configured (each handover says so on its timeline too).
 */
import type { EdiMessageService } from '../../delivery/edi-message-service.ts';
import type { Ehr } from '../../delivery/ehr.ts';
import type { Logger } from '../../platform/logger.ts';
import type { SenderIdentity } from '../edi/sender-identity.ts';
import type { RecipientDirectory } from '../recipient-directory.ts';
import type { ChannelName } from '../types.ts';
import type { HandoverChannel } from './channel.ts';
import { createEdiChannel } from './edi-channel.ts';
import { createFhirChannel } from './fhir-channel.ts';
import { kafkaChannel } from './kafka-channel.ts';

export interface ChannelConfiguration {
  readonly directory: RecipientDirectory;
  /** A FHIR client per centre endpoint. */
  readonly endpoint: (baseUrl: string) => Ehr;
  /** EDI needs both: NHN's message service (EDI_BASE_URL) and who the hospital is on Helsenett (HOSPITAL_*). */
  readonly messageService: EdiMessageService | undefined;
  readonly sender: SenderIdentity | undefined;
  readonly clock: () => Date;
  readonly logger: Logger;
}

export function configuredChannels(
  configuration: ChannelConfiguration,
): Readonly<Partial<Record<ChannelName, HandoverChannel>>> {
  const { messageService, sender } = configuration;
  const channels: Partial<Record<ChannelName, HandoverChannel>> = {
    fhir: createFhirChannel(configuration.endpoint),
    kafka: kafkaChannel,
    ...(messageService === undefined || sender === undefined
      ? {}
      : { edi: createEdiChannel({ messageService, sender, clock: configuration.clock }) }),
  };
  const unserved = configuration.directory.entries.filter((entry) => channels[entry.channel] === undefined);
  if (unserved.length > 0) {
    const missing = [
      messageService === undefined ? 'EDI_BASE_URL' : undefined,
      sender === undefined ? 'the HOSPITAL_* sender keys' : undefined,
    ]
      .filter((m) => m !== undefined)
      .join(' and ');
    configuration.logger.warn(
      { municipalities: unserved.map((e) => e.municipality), channel: 'edi' },
      `${String(unserved.length)} recipient(s) in the directory use channel edi, but ${missing} ${missing.includes(' and ') ? 'are' : 'is'} not set: their handovers go on the event stream only until it is`,
    );
  }
  return channels;
}
