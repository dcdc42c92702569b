import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mappers } from '../../../mappings/registry.ts';
import type { Mappers } from '../../../src/contracts/mappers.ts';
import { createInputValidator, type InputSchemas } from '../../../src/contracts/input-validator.ts';
import { ALL_EVENT_TYPES, RECORD_EVENT_TYPE } from '../../../src/events/cloud-events.ts';
import { loadContracts, SCHEMA_FILES } from '../../../src/intake/contracts.ts';
import { ROUTE_SCOPES } from '../../../src/intake/scopes.ts';
import {
  INPUT_KINDS,
  KINDS,
  RECORD_KINDS,
  SUBMISSION_KINDS,
  type InputKind,
  type Inputs,
  type RecordKind,
  type SubmissionKind,
} from '../../../src/kinds/kinds.ts';

// One descriptor per input kind (src/kinds/kinds.ts): every table keyed by kind is total over
// the descriptors (the type-level checks below fail to compile otherwise), and no list of kinds
// is written out anywhere else in src/ or mappings/ (the scan below).

/** true only when A and B are the same union of keys. */
type Equals<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

// Type-level: each kind-keyed table covers exactly the kinds its descriptors say.
const tablesAreTotal: readonly true[] = [
  true satisfies Equals<keyof typeof mappers, RecordKind>,
  true satisfies Equals<keyof Mappers, RecordKind>,
  true satisfies Equals<keyof InputSchemas, InputKind>,
  true satisfies Equals<keyof typeof SCHEMA_FILES, InputKind>,
  true satisfies Equals<keyof typeof RECORD_EVENT_TYPE, RecordKind>,
  true satisfies Equals<keyof Inputs, InputKind>,
  true satisfies Equals<InputKind, keyof typeof KINDS>,
];

const KIND_LITERAL = INPUT_KINDS.map((kind) => `'${kind}'`).join('|');
/** Two kind names side by side in an array or a union: a list of kinds. */
const LITERAL_LIST = new RegExp(`(${KIND_LITERAL})\\s*[,|]\\s*(${KIND_LITERAL})`, 'u');

function literalLists(text: string): string[] {
  return text.split(/\n(?=\S)/u).flatMap((block) => {
    const match = LITERAL_LIST.exec(block);
    return match === null ? [] : [match[0]];
  });
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return path === join('src', 'kinds') ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('the input kinds', () => {
  it('derive the record and submission kinds from the descriptors', () => {
    expect(tablesAreTotal.every(Boolean)).toBe(true);
    expect(RECORD_KINDS).toEqual(['hit-sessions', 'fitness-tests', 'prescriptions']);
    expect(SUBMISSION_KINDS).toEqual(['hit-sessions', 'fitness-tests', 'prescriptions', 'discharges']);
    expect(INPUT_KINDS).toEqual([...SUBMISSION_KINDS, 'handover-acknowledgements']);
    const submissionKinds: readonly SubmissionKind[] = SUBMISSION_KINDS;
    expect(submissionKinds).toEqual(expect.arrayContaining(RECORD_KINDS));
  });

  it.each(INPUT_KINDS)('%s: has its schema file, its route with a scope, and its validation', (kind) => {
    expect(existsSync(join('contracts', 'schemas', SCHEMA_FILES[kind]))).toBe(true);
    expect(ROUTE_SCOPES).toContainEqual({ path: `/v1/${kind}`, scope: KINDS[kind].scope });
    const validator = createInputValidator(loadContracts().schemas);
    expect(validator.check(kind, {}).length).toBeGreaterThan(0);
  });

  it.each(RECORD_KINDS)('%s: has a mapping and a recorded event type with a schema', (kind) => {
    expect(typeof mappers[kind]).toBe('function');
    expect(ALL_EVENT_TYPES).toContain(RECORD_EVENT_TYPE[kind]);
    expect(readdirSync(join('contracts', 'events'))).toContain(
      `${RECORD_EVENT_TYPE[kind].replace(/^no\.hitbridge\./u, '')}.schema.json`,
    );
  });

  it('are listed nowhere in src/ or mappings/ but in their descriptors', () => {
    const found = [...sourceFiles('src'), ...sourceFiles('mappings')].flatMap((path) =>
      literalLists(readFileSync(path, 'utf8')).map((list) => `${path}: ${list}`),
    );
    expect(found).toEqual([]);
  });

  it('the scan finds a list of kinds written out, as an array or a union, on one line or several', () => {
    expect(literalLists("const KINDS = ['hit-sessions', 'fitness-tests'] as const;")).toHaveLength(1);
    expect(literalLists("type K = 'prescriptions' | 'discharges';")).toHaveLength(1);
    expect(literalLists("const K = [\n  'hit-sessions',\n  'handover-acknowledgements',\n];")).toHaveLength(1);
    // A table keyed by kind (typed total over the descriptors) is not a list; nor is one kind.
    expect(literalLists("const T = {\n  'hit-sessions': a,\n  'fitness-tests': b,\n};")).toEqual([]);
    expect(literalLists("if (kind === 'discharges') return;")).toEqual([]);
  });
});
