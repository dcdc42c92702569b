import type { Provenance } from 'fhir/r4.js';
import { DEFAULT_MAPPING_OPTIONS } from '../../../mappings/common.ts';
import { withProvenance } from '../../../mappings/provenance.ts';
import { mappers } from '../../../mappings/registry.ts';
import { fixtureCases, readInput } from '../../support/fixtures.ts';
import type { Inputs } from '../../../src/kinds/kinds.ts';

describe('withProvenance', () => {
  it.each(fixtureCases())('$kind/$name: one Provenance naming every resource, the source and the time', (fixture) => {
    const mapped = mappers[fixture.kind](readInput(fixture) as never, DEFAULT_MAPPING_OPTIONS);
    const input: { source: string } = readInput(fixture);
    const bundle = withProvenance(mapped, { recorded: '2026-05-04T10:15:00.000Z', source: input.source });
    const entries = bundle.entry ?? [];
    expect(entries.slice(0, -1)).toEqual(mapped.entry);
    const last = entries.at(-1);
    const provenance = last?.resource as Provenance;
    expect(provenance.resourceType).toBe('Provenance');
    expect(provenance.target.map((target) => target.reference)).toEqual(mapped.entry?.map((entry) => entry.fullUrl));
    expect(provenance.recorded).toBe('2026-05-04T10:15:00.000Z');
    expect(provenance.agent.map((agent) => agent.who.identifier?.value)).toEqual(['hit-bridge', input.source]);
    expect(last?.request?.ifNoneExist).toMatch(
      /^Provenance\?target:[A-Za-z]+\.identifier=https:\/\/hit-bridge\.no\/fhir\/sid\//,
    );
  });

  it('is pure: the same input and time give the same Bundle, and the mapping is left as it was', () => {
    const fixture = fixtureCases(['prescriptions'])[0];
    if (fixture === undefined) throw new Error('no fixture');
    const mapped = mappers.prescriptions(readInput(fixture) as Inputs['prescriptions'], DEFAULT_MAPPING_OPTIONS);
    const before = JSON.stringify(mapped);
    const facts = { recorded: '2026-05-04T10:15:00.000Z', source: 'clinic-a' };
    expect(withProvenance(mapped, facts)).toEqual(withProvenance(mapped, facts));
    expect(JSON.stringify(mapped)).toBe(before);
  });
});
