/**
 * The mappers the HTTP routes, the delivery worker and the golden tests share, one per record
 * kind, built from the descriptors (src/kinds/kinds.ts names each kind's mapping). Each mapping
 * makes the generic Bundle; under the dips-arena EHR profile it is then shaped for DIPS Arena
 * (mappings/dips-arena.ts).
 */
import type { Bundle } from 'fhir/r4.js';
import { mappingOf, RECORD_KINDS, type Inputs, type RecordKind } from '../src/kinds/kinds.ts';
import type { MappingOptions } from './common.ts';
import { shapeForDipsArena } from './dips-arena.ts';

export type Mapper<K extends RecordKind> = (input: Inputs[K], options: MappingOptions) => Bundle;

function profiled<K extends RecordKind>(kind: K): Mapper<K> {
  const generic = mappingOf(kind);
  return (input, options) => {
    const bundle = generic(input, options);
    return options.ehrProfile === 'dips-arena' ? shapeForDipsArena(kind, bundle, input.episodeId) : bundle;
  };
}

// Built from the descriptors: one entry per record kind, each typed by its own input.
export const mappers = Object.fromEntries(RECORD_KINDS.map((kind) => [kind, profiled(kind)])) as {
  readonly [K in RecordKind]: Mapper<K>;
};
