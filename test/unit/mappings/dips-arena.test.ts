/**
 * The dips-arena EHR profile (mappings/dips-arena.ts): every fixture, shaped for DIPS Arena, keeps
 * to what DIPSR4Procedure allows — read from DIPS's own differential in third_party/dips-core-ig/,
 * so a rule of theirs is checked as they wrote it. The golden files pin the whole Bundle; these
 * tests pin the rules behind it. The DIPS-configured HAPI checks the same against the profile.
 */
import { readFileSync } from 'node:fs';
import type { Bundle, Procedure } from 'fhir/r4.js';
import { DEFAULT_MAPPING_OPTIONS, type MappingOptions } from '../../../mappings/common.ts';
import { shapeForDipsArena } from '../../../mappings/dips-arena.ts';
import { mappers } from '../../../mappings/registry.ts';
import { DIPS, IDENTIFIER_SYSTEMS } from '../../../mappings/terminology.ts';
import { type Inputs, type RecordKind } from '../../../src/kinds/kinds.ts';
import { DIPS_TEST_EPISODE, fixtureCases, readInput, withEpisode, type FixtureCase } from '../../support/fixtures.ts';

const DIPS_OPTIONS: MappingOptions = { ...DEFAULT_MAPPING_OPTIONS, ehrProfile: 'dips-arena' };

interface ElementDefinition {
  readonly id: string;
  readonly min?: number;
  readonly max?: string;
}

const differential = JSON.parse(
  readFileSync('third_party/dips-core-ig/StructureDefinition-DIPSR4Procedure.differential.json', 'utf8'),
) as { differential: { element: ElementDefinition[] } };

/** Top-level Procedure elements DIPS forbids (max 0), e.g. "note", "basedOn", "performed" never. */
const FORBIDDEN = differential.differential.element
  .filter((e) => e.max === '0' && /^Procedure\.[A-Za-z]+$/.test(e.id))
  .map((e) => e.id.replace('Procedure.', ''));

function mapWith<K extends RecordKind>(kind: K, input: Inputs[K], options: MappingOptions): Bundle {
  return mappers[kind](input, options);
}

function map(fixture: FixtureCase, options = DIPS_OPTIONS): Bundle {
  return mapWith(fixture.kind, withEpisode(readInput(fixture)), options);
}

function forbiddenIn(resource: object): string[] {
  return FORBIDDEN.filter((element) => Object.hasOwn(resource, element));
}

const sessions = fixtureCases(['hit-sessions']) as FixtureCase<'hit-sessions'>[];
const others = fixtureCases(['fitness-tests', 'prescriptions']);

describe('a session under the dips-arena profile', () => {
  it('reads DIPS forbidden elements from their differential', () => {
    expect(FORBIDDEN).toEqual(expect.arrayContaining(['note', 'basedOn', 'reasonCode', 'recorder', 'contained']));
  });

  it.each(sessions.map((c) => [c.name, c] as const))('%s: one Procedure shaped as DIPSR4Procedure', (_name, c) => {
    const bundle = map(c);
    expect(bundle.entry).toHaveLength(1);
    const entry = bundle.entry?.[0];
    // A plain create: DIPS declares no conditional create and no update.
    expect(entry?.request).toEqual({ method: 'POST', url: 'Procedure' });
    const procedure = entry?.resource as Procedure;
    expect(procedure.meta?.profile).toEqual([DIPS.procedureProfile]);
    expect(forbiddenIn(procedure)).toEqual([]);
    expect(procedure.code?.coding).toEqual([
      expect.objectContaining({ system: DIPS.ncmpCategory.system, code: 'OBAB00' }),
    ]);
    expect(procedure.category?.coding).toEqual([DIPS.ncmpCategory]);
    expect(procedure.encounter).toEqual({ identifier: { system: DIPS.careEpisodeSystem, value: DIPS_TEST_EPISODE } });
    expect(procedure.performer).toHaveLength(1);
    expect(procedure.performer?.[0]?.actor.identifier?.system).toBe(IDENTIFIER_SYSTEMS.hpr);
    expect([IDENTIFIER_SYSTEMS.fnr, IDENTIFIER_SYSTEMS.dNumber]).toContain(procedure.subject.identifier?.system);
    expect(procedure.subject.reference).toBeUndefined();
    expect(procedure.performedPeriod?.start).toBe(readInput(c).startedAt);
    // External_Identifier: system and value only, hit-bridge's business identifier.
    expect(procedure.identifier).toEqual([
      { system: `https://hit-bridge.no/fhir/sid/${readInput(c).source}`, value: `session/${readInput(c).sessionId}` },
    ]);
  });

  it.each(sessions.map((c) => [c.name, c] as const))(
    '%s: the narrative keeps what DIPS has no element for',
    (_name, c) => {
      const input = readInput(c);
      const div = (map(c).entry?.[0]?.resource as Procedure).text?.div ?? '';
      if (input.prescriptionId !== undefined) expect(div).toContain(input.prescriptionId);
      if (input.borgRpe !== undefined) expect(div).toContain('Borg');
      if ((input.intervals ?? []).length > 0) expect(div).toContain('Arbeidsintervaller');
      if (input.note !== undefined) expect(div).toContain('Merknad fra klinikken');
    },
  );

  it('the check bites: the generic Procedure of the same session breaks DIPS rules', () => {
    const c = sessions.find((s) => s.name === 'typical-4x4');
    if (c === undefined) throw new Error('no typical-4x4 fixture');
    const generic = map(c, DEFAULT_MAPPING_OPTIONS).entry?.[0]?.resource as Procedure;
    expect(forbiddenIn(generic)).toEqual(expect.arrayContaining(['basedOn', 'note']));
    expect(generic.encounter).toBeUndefined();
  });

  it('a session without its care episode is a bug by then (intake requires it)', () => {
    const c = sessions[0];
    if (c === undefined) throw new Error('no session fixture');
    const generic = mappers['hit-sessions'](readInput(c), DEFAULT_MAPPING_OPTIONS);
    expect(() => shapeForDipsArena('hit-sessions', generic, undefined)).toThrow(/episodeId/);
  });
});

describe('fitness tests and prescriptions under the dips-arena profile', () => {
  it.each(others.map((c) => [`${c.kind}/${c.name}`, c] as const))(
    '%s: nothing goes to the EHR (DIPS has no place for it)',
    (_label, c) => {
      const bundle = map(c);
      expect(bundle.type).toBe('transaction');
      expect(bundle.entry).toEqual([]);
      const input = readInput(c) as Inputs['prescriptions'] | Inputs['fitness-tests'];
      const id = 'prescriptionId' in input ? input.prescriptionId : input.testId;
      expect(bundle.identifier?.value).toContain(id);
    },
  );
});

describe('the generic profile is untouched by episodeId', () => {
  it.each(fixtureCases().map((c) => [`${c.kind}/${c.name}`, c] as const))(
    '%s maps to the same Bundle with or without it',
    (_label, c) => {
      const input = readInput(c);
      expect(JSON.stringify(mapWith(c.kind, withEpisode(input), DEFAULT_MAPPING_OPTIONS))).toBe(
        JSON.stringify(mapWith(c.kind, input, DEFAULT_MAPPING_OPTIONS)),
      );
    },
  );
});
