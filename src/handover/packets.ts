/**
 * One discharge's facts → a packet per recipient, or why there is none. Consent is per recipient:
 * no consent for the Frisklivssentral means no document for it, and the training contact gets a
 * packet only when one is named and the patient consented to it. The two packets are built
 * independently (the volunteer's never from the Frisklivssentral's), so withholding one never
 * changes the other.
 *
 * Pure: no clock (generatedAt comes in the facts), no I/O. A prescription that cannot be read is
 * a permanent failure (Problem, not retriable): the same facts would fail the same way again.
 */
import { Problem } from '../platform/problem.ts';
import { readAttendance } from './attendance.ts';
import { readFitnessResults } from './fitness-results.ts';
import { buildFrisklivssentralPacket, type DocumentInput } from './frisklivssentral-packet.ts';
import { readPrescriptionPlan, type PrescriptionPlan } from './prescription-plan.ts';
import { buildTrainingContactPacket } from './training-contact-packet.ts';
import type { HandoverFacts, HandoverPackets } from './types.ts';

export function buildHandoverPackets(facts: HandoverFacts): HandoverPackets {
  const plan = readPlan(facts);
  const { consent, recipients } = facts.discharge;

  const frisklivssentral = consent.frisklivssentral
    ? buildFrisklivssentralPacket(documentInputOf(facts, plan))
    : ({ omitted: 'no-consent' } as const);

  const named = recipients.trainingContact;
  const trainingContact =
    named === undefined
      ? ({ omitted: 'no-training-contact' } as const)
      : consent.trainingContact
        ? buildTrainingContactPacket(facts, plan, named)
        : ({ omitted: 'no-consent' } as const);

  return { frisklivssentral, trainingContact };
}

/** What every form of the Frisklivssentral's handover (document, page, e-message) is made from. */
export function frisklivssentralInput(facts: HandoverFacts): DocumentInput {
  return documentInputOf(facts, readPlan(facts));
}

function documentInputOf(facts: HandoverFacts, plan: PrescriptionPlan): DocumentInput {
  return {
    facts,
    plan,
    results: readFitnessResults(facts.observations),
    attendance: readAttendance(facts.sessions, plan),
  };
}

function readPlan(facts: HandoverFacts): PrescriptionPlan {
  const reading = readPrescriptionPlan(facts.prescription);
  if (!reading.ok) {
    throw new Problem({
      type: 'https://hit-bridge.no/problems/unreadable-prescription',
      title: 'The prescription cannot be read for the handover',
      status: 422,
      detail: `Discharge ${facts.discharge.dischargeId}: ${reading.reason}.`,
      retriable: false,
    });
  }
  return reading.value;
}
