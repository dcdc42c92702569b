/**
 * Which mapping serves which record kind (src/kinds/kinds.ts): the one table the HTTP routes, the
 * delivery worker and the golden tests share. Typed total over the record kinds, so a new record
 * kind does not compile until its mapping is here.
 */
import type { Bundle } from 'fhir/r4.js';
import type { Inputs, RecordKind } from '../src/kinds/kinds.ts';
import type { MappingOptions } from './common.ts';
import { mapFitnessTest } from './fitness-test.ts';
import { mapHitSession } from './hit-session.ts';
import { mapPrescription } from './prescription.ts';

export type Mapper<K extends RecordKind> = (input: Inputs[K], options: MappingOptions) => Bundle;

export const mappers: { readonly [K in RecordKind]: Mapper<K> } = {
  'hit-sessions': mapHitSession,
  'fitness-tests': mapFitnessTest,
  prescriptions: mapPrescription,
};
