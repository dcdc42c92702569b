/**
 * Which mapping serves which record kind (src/kinds/kinds.ts): the one table the HTTP routes, the
 * delivery worker and the golden tests share. Typed total over the record kinds, so a new record
 * kind does not compile until its mapping is here. Each mapping makes the generic Bundle; under
 * the dips-arena EHR profile it is then shaped for DIPS Arena (mappings/dips-arena.ts).
 */
import type { Bundle } from 'fhir/r4.js';
import type { Inputs, RecordKind } from '../src/kinds/kinds.ts';
import type { MappingOptions } from './common.ts';
import { shapeForDipsArena } from './dips-arena.ts';
import { mapFitnessTest } from './fitness-test.ts';
import { mapHitSession } from './hit-session.ts';
import { mapPrescription } from './prescription.ts';

export type Mapper<K extends RecordKind> = (input: Inputs[K], options: MappingOptions) => Bundle;

const genericMappers: { readonly [K in RecordKind]: Mapper<K> } = {
  'hit-sessions': mapHitSession,
  'fitness-tests': mapFitnessTest,
  prescriptions: mapPrescription,
};

function profiled<K extends RecordKind>(kind: K): Mapper<K> {
  const generic = genericMappers[kind];
  return (input, options) => {
    const bundle = generic(input, options);
    return options.ehrProfile === 'dips-arena' ? shapeForDipsArena(kind, bundle, input.episodeId) : bundle;
  };
}

export const mappers: { readonly [K in RecordKind]: Mapper<K> } = {
  'hit-sessions': profiled('hit-sessions'),
  'fitness-tests': profiled('fitness-tests'),
  prescriptions: profiled('prescriptions'),
};
