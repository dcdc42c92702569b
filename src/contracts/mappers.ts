/**
 * One mapping function per record kind: what the ehr-delivery worker delivers with and what the
 * preview route answers with. Passed in by the composition root, so tests can swap a mapping.
 */
import type { Mapper } from '../../mappings/registry.ts';
import type { RecordKind } from '../kinds/kinds.ts';

export type Mappers = { readonly [K in RecordKind]: Mapper<K> };
