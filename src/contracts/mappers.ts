/**
 * One mapping function per record kind: what the ehr-delivery worker delivers with and what the
 * preview route answers with. Passed in by the composition root, so tests can swap a mapping.
 */
import type { Bundle } from 'fhir/r4.js';
import type { MappingOptions } from '../../mappings/common.ts';
import type { InputKindName, InputKinds } from '../../mappings/registry.ts';

export type Mappers = {
  readonly [K in InputKindName]: (input: InputKinds[K], options: MappingOptions) => Bundle;
};
