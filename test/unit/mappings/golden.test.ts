/**
 * Golden tests: every fixture input under test/fixtures/mappings/<kind>/<case>.input.json maps
 * to exactly the Bundle committed beside it as <case>.bundle.json. A change in what the EHR
 * receives shows up here as a diff a reviewer reads. `UPDATE_GOLDEN=1` rewrites the expected
 * files — after which they must be read, not just committed.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { SyntaxValidator } from 'fast-xml-validator';
import { DEFAULT_MAPPING_OPTIONS } from '../../../mappings/common.ts';
import { mappers } from '../../../mappings/registry.ts';
import { fixtureCases, readInput, withEpisode } from '../../support/fixtures.ts';
import { type Inputs, RECORD_KINDS, type RecordKind } from '../../../src/kinds/kinds.ts';

function mapFixture<K extends RecordKind>(kind: K, input: Inputs[K]): unknown {
  return mappers[kind](input, DEFAULT_MAPPING_OPTIONS);
}

function mapForDipsArena<K extends RecordKind>(kind: K, input: Inputs[K]): unknown {
  return mappers[kind](withEpisode(input), { ...DEFAULT_MAPPING_OPTIONS, ehrProfile: 'dips-arena' });
}

const cases = fixtureCases();

describe('golden mappings', () => {
  it('has at least three fixtures for every input kind', () => {
    const counts = Object.fromEntries(RECORD_KINDS.map((kind) => [kind, cases.filter((c) => c.kind === kind).length]));
    for (const kind of RECORD_KINDS) expect([kind, (counts[kind] ?? 0) >= 3]).toEqual([kind, true]);
  });

  it.each(cases.map((c) => [`${c.kind}/${c.name}`, c] as const))('%s maps to its committed Bundle', (_label, c) => {
    const bundle = mapFixture(c.kind, readInput(c));
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(c.bundleFile, `${JSON.stringify(bundle, null, 2)}\n`);
    expect(existsSync(c.bundleFile)).toBe(true);
    expect(bundle).toEqual(JSON.parse(readFileSync(c.bundleFile, 'utf8')));
  });

  it.each(cases.map((c) => [`${c.kind}/${c.name}`, c] as const))(
    '%s maps to the same Bundle every time',
    (_label, c) => {
      const input = JSON.parse(readFileSync(c.inputFile, 'utf8')) as Inputs[typeof c.kind];
      expect(JSON.stringify(mapFixture(c.kind, input))).toBe(JSON.stringify(mapFixture(c.kind, input)));
    },
  );

  it.each(cases.map((c) => [`${c.kind}/${c.name}`, c] as const))(
    '%s has well-formed XHTML in every narrative, under both profiles',
    (_label, c) => {
      // The session narratives put the mapping's own words in unescaped: one holding "&" or "<"
      // would be written into a regenerated golden file, and this catches it there.
      const bundles = [mapFixture(c.kind, readInput(c)), mapForDipsArena(c.kind, readInput(c))] as {
        entry?: { resource?: { text?: { div?: string } } }[];
      }[];
      const divs = bundles.flatMap((b) => (b.entry ?? []).flatMap((e) => e.resource?.text?.div ?? []));
      expect(divs.length).toBeGreaterThan(0);
      for (const div of divs) expect(() => SyntaxValidator.validate(div)).not.toThrow();
    },
  );

  it.each(cases.map((c) => [`${c.kind}/${c.name}`, c] as const))(
    '%s maps under the dips-arena profile to its committed Bundle',
    (_label, c) => {
      const bundle = mapForDipsArena(c.kind, readInput(c));
      if (process.env.UPDATE_GOLDEN === '1')
        writeFileSync(c.dipsArenaBundleFile, `${JSON.stringify(bundle, null, 2)}\n`);
      expect(existsSync(c.dipsArenaBundleFile)).toBe(true);
      expect(bundle).toEqual(JSON.parse(readFileSync(c.dipsArenaBundleFile, 'utf8')));
    },
  );
});
