/** The golden mapping fixtures: test/fixtures/mappings/<kind>/<case>.input.json (+ .bundle.json). */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Inputs, RECORD_KINDS, type RecordKind } from '../../src/kinds/kinds.ts';

export const MAPPING_FIXTURES = join('test', 'fixtures', 'mappings');

export interface FixtureCase<K extends RecordKind = RecordKind> {
  readonly kind: K;
  readonly name: string;
  readonly inputFile: string;
  readonly bundleFile: string;
}

export function fixtureCases(kinds: readonly RecordKind[] = RECORD_KINDS): FixtureCase[] {
  return kinds.flatMap((kind) => {
    const dir = join(MAPPING_FIXTURES, kind);
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((file) => file.endsWith('.input.json'))
      .sort()
      .map((file) => {
        const name = file.replace(/\.input\.json$/, '');
        return { kind, name, inputFile: join(dir, file), bundleFile: join(dir, `${name}.bundle.json`) };
      });
  });
}

export function readInput<K extends RecordKind>(fixture: FixtureCase<K>): Inputs[K] {
  return JSON.parse(readFileSync(fixture.inputFile, 'utf8')) as Inputs[K];
}

/** A fixture's input sent under another source: its identifiers are then the caller's own on shared peers. */
export function withSource<K extends RecordKind>(fixture: FixtureCase<K>, source: string): Inputs[K] {
  return { ...readInput(fixture), source };
}
