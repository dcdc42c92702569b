/**
 * Which mapping serves which input kind: the one table the HTTP routes, the delivery worker
 * and the golden tests share.
 */
import type { Bundle } from 'fhir/r4.js';
import type { MappingOptions } from './common.ts';
import { mapFitnessTest } from './fitness-test.ts';
import { mapHitSession } from './hit-session.ts';
import type { FitnessTestInput, HitSessionInput, PrescriptionInput } from './inputs.ts';
import { mapPrescription } from './prescription.ts';

export interface InputKinds {
  'hit-sessions': HitSessionInput;
  'fitness-tests': FitnessTestInput;
  prescriptions: PrescriptionInput;
}

export type InputKindName = keyof InputKinds;

export const INPUT_KINDS: readonly InputKindName[] = ['hit-sessions', 'fitness-tests', 'prescriptions'];

export const mappers: { readonly [K in InputKindName]: (input: InputKinds[K], options: MappingOptions) => Bundle } = {
  'hit-sessions': mapHitSession,
  'fitness-tests': mapFitnessTest,
  prescriptions: mapPrescription,
};
