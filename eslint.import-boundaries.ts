// Which layer may import which (see README "Architecture" and docs/adr/0026): intake takes requests
// in and must not depend on what happens after (delivery, handover); the store and its outbox
// worker loop sit below the platform's consumers, so platform must not reach up into the store;
// src/contracts sits below intake, delivery and handover, which all use it. ESLint's own
// no-restricted-imports matches the import as written, which is enough for relative paths: a
// path that reaches a forbidden folder names it (`../handover/…`, `../../src/handover/…`).
// Type-only imports count too: a type is a dependency.

import type { Linter } from 'eslint';

const forbid = (folders: readonly string[], why: string): Linter.RuleEntry => [
  'error',
  {
    patterns: [
      {
        regex: `(^|/)(${folders.join('|')})/`,
        message: why,
      },
    ],
  },
];

export const importBoundaries: Linter.Config[] = [
  {
    files: ['src/intake/**/*.ts'],
    rules: {
      'no-restricted-imports': forbid(
        ['delivery', 'handover'],
        'intake must not import delivery or handover: pass what it needs in from the composition root (src/service.ts), or move the shared piece to src/contracts or src/events.',
      ),
    },
  },
  {
    files: ['src/platform/**/*.ts'],
    rules: {
      'no-restricted-imports': forbid(
        ['store', 'intake', 'delivery', 'handover', 'events'],
        'platform is the bottom layer: it must not import the store or any component.',
      ),
    },
  },
  {
    files: ['src/contracts/**/*.ts'],
    rules: {
      'no-restricted-imports': forbid(
        ['intake', 'delivery', 'handover'],
        'src/contracts sits below intake, delivery and handover: it must not import them.',
      ),
    },
  },
];
