/** The golden mapping fixtures: test/fixtures/mappings/<kind>/<case>.input.json (+ .bundle.json). */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { INPUT_KINDS, type InputKindName, type InputKinds } from '../../mappings/registry.ts';

export const MAPPING_FIXTURES = join('test', 'fixtures', 'mappings');

export interface FixtureCase<K extends InputKindName = InputKindName> {
  readonly kind: K;
  readonly name: string;
  readonly inputFile: string;
  readonly bundleFile: string;
}

export function fixtureCases(kinds: readonly InputKindName[] = INPUT_KINDS): FixtureCase[] {
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

export function readInput<K extends InputKindName>(fixture: FixtureCase<K>): InputKinds[K] {
  return JSON.parse(readFileSync(fixture.inputFile, 'utf8')) as InputKinds[K];
}

/** A fixture's input sent under another source: its identifiers are then the caller's own on shared peers. */
export function withSource<K extends InputKindName>(fixture: FixtureCase<K>, source: string): InputKinds[K] {
  return { ...readInput(fixture), source };
}
