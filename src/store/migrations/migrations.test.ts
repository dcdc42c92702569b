import { migrations } from './index.ts';

describe('migrations', () => {
  it('are numbered 1, 2, 3, … in order without gaps', () => {
    expect(migrations.map((migration) => migration.version)).toEqual(migrations.map((_, index) => index + 1));
  });

  it.each(migrations.map((migration) => [migration.version, migration] as const))(
    'version %i never destroys data (no drop, truncate, delete, rename or column type change)',
    (_version, migration) => {
      for (const written of [migration.postgres, migration.sqlite]) {
        // A trigger that REFUSES delete/truncate (the append-only audit log) protects data.
        const sql = written.replace(
          /\bbefore\s+(?:update\s+or\s+)?(?:delete|truncate)\b|\b(?:update|delete)\s+refused\b/gi,
          '',
        );
        expect(sql).not.toMatch(/\b(drop|truncate|delete|rename)\b/i);
        expect(sql).not.toMatch(/\balter\s+column\b[^;]*\btype\b/i);
      }
    },
  );

  it.each(migrations.map((migration) => [migration.version, migration] as const))(
    'version %i creates the same tables in both dialects',
    (_version, migration) => {
      const tables = (sql: string): string[] =>
        [...sql.matchAll(/create table (?:if not exists )?(\w+)/gi)].map((match) => match[1] ?? '').sort();
      expect(tables(migration.sqlite)).toEqual(tables(migration.postgres));
    },
  );
});
