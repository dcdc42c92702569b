import { readFileSync } from 'node:fs';
import { configSchema } from '../../../src/platform/config.ts';

// The README's configuration table is what operators read; it must not drift from the schema.
describe('README configuration table', () => {
  const readme = readFileSync('README.md', 'utf8');
  const rows = new Map(
    [...readme.matchAll(/^\|\s*`([A-Z_]+)`\s*\|\s*([^|]*?)\s*\|\s*([^|]*?)\s*\|$/gm)].map((match) => [
      match[1],
      { def: match[2]?.trim() },
    ]),
  );

  it.each(Object.entries(configSchema.properties))('lists %s with its default', (key, spec) => {
    const row = rows.get(key);
    expect(row).toBeDefined();
    const expected = 'default' in spec ? `\`${String(spec.default)}\`` : '—';
    expect(row?.def).toBe(expected);
  });

  it('lists no variable the service does not read', () => {
    const known = new Set(Object.keys(configSchema.properties));
    expect([...rows.keys()].filter((key) => key !== undefined && !known.has(key))).toEqual([]);
  });
});
