/**
 * The built-in example: the e-message hit-bridge makes for a synthetic discharge (the typical
 * patient of the tests' handover cohort, fictional name, synthetic national id), from a
 * fictional hospital, so anyone can see and validate what goes to a Frisklivssentral without a
 * database or an EHR. example-handover.facts.json is the facts the handover worker would gather;
 * a unit test keeps it equal to what the cohort produces.
 */
import { readFileSync } from 'node:fs';
import { frisklivssentralInput } from '../packets.ts';
import type { HandoverFacts } from '../types.ts';
import { buildFrisklivssentralMessage, type FrisklivssentralMessage } from './frisklivssentral-message.ts';
import type { SenderIdentity } from './sender-identity.ts';

/** A fictional sender: HER-ids in no register, an organisation number with a valid check digit. */
export const EXAMPLE_SENDER: SenderIdentity = {
  organisation: { name: 'Eksempelsykehuset HF', herId: '8000001', organisationNumber: '883974832' },
  department: { name: 'Klinikk for hjertemedisin', herId: '8000002' },
};

export function exampleHandoverFacts(): HandoverFacts {
  return JSON.parse(readFileSync(new URL('./example-handover.facts.json', import.meta.url), 'utf8')) as HandoverFacts;
}

export function exampleHandoverMessage(): Promise<FrisklivssentralMessage> {
  return buildFrisklivssentralMessage(frisklivssentralInput(exampleHandoverFacts()), EXAMPLE_SENDER);
}
