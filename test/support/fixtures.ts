/**
 * The golden mapping fixtures: test/fixtures/mappings/<kind>/<case>.input.json, the generic
 * Bundle beside it as <case>.bundle.json and the dips-arena one as <case>.dips-arena.bundle.json.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Inputs, RECORD_KINDS, type RecordKind } from '../../src/kinds/kinds.ts';

export const MAPPING_FIXTURES = join('test', 'fixtures', 'mappings');

export interface FixtureCase<K extends RecordKind = RecordKind> {
  readonly kind: K;
  readonly name: string;
  readonly inputFile: string;
  readonly bundleFile: string;
  /** What the dips-arena EHR profile makes of the input with DIPS_TEST_EPISODE as its care episode. */
  readonly dipsArenaBundleFile: string;
}

/** A made-up DIPS care episode number (DIPS's own example uses 1002907) for the fixtures under dips-arena. */
export const DIPS_TEST_EPISODE = '9000001';

export function fixtureCases(kinds: readonly RecordKind[] = RECORD_KINDS): FixtureCase[] {
  return kinds.flatMap((kind) => {
    const dir = join(MAPPING_FIXTURES, kind);
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((file) => file.endsWith('.input.json'))
      .sort()
      .map((file) => {
        const name = file.replace(/\.input\.json$/, '');
        return {
          kind,
          name,
          inputFile: join(dir, file),
          bundleFile: join(dir, `${name}.bundle.json`),
          dipsArenaBundleFile: join(dir, `${name}.dips-arena.bundle.json`),
        };
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

/** A fixture's input as a DIPS Arena deployment needs it: with its care episode. */
export function withEpisode<T extends Inputs[RecordKind]>(input: T, episodeId = DIPS_TEST_EPISODE): T {
  return { ...input, episodeId };
}
