import { readFileSync } from 'node:fs';
import type { CodeSystem } from 'fhir/r4.js';
import { HIT_CODES, SYSTEMS } from '../../../mappings/terminology.ts';

describe('our own CodeSystem', () => {
  const codeSystem = JSON.parse(readFileSync('profiles/CodeSystem-hit-bridge.json', 'utf8')) as CodeSystem;

  it('is the system the mappings write', () => {
    expect(codeSystem.url).toBe(SYSTEMS.hitBridge);
  });

  it('defines exactly the codes the mappings use, with the same displays', () => {
    const published = Object.fromEntries((codeSystem.concept ?? []).map((concept) => [concept.code, concept.display]));
    const used = Object.fromEntries(Object.values(HIT_CODES).map((coding) => [coding.code, coding.display]));
    expect(published).toEqual(used);
    expect(codeSystem.count).toBe(Object.keys(used).length);
  });
});
