/**
 * The `kafka` channel: nothing beyond the handover.packet event every recipient gets, for a
 * centre that reads the event stream (through the municipality's integration platform, say).
 */
import type { HandoverChannel } from './channel.ts';

export const kafkaChannel: HandoverChannel = {
  name: 'kafka',
  // The packet-sent entry for the event already says where it went.
  send: () => Promise.resolve({ kind: 'sent', detail: { channel: 'kafka' } }),
};
