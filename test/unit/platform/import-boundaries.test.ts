import { Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { importBoundaries } from '../../../eslint.import-boundaries.ts';

// npm run check lints with these rules; here they run in memory on made-up sources, to show
// that each boundary refuses an import across it (value or type-only) and lets the allowed ones by.

const linter = new Linter({ configType: 'flat' });
const config: Linter.Config[] = [
  { files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } },
  ...importBoundaries,
];

function refusals(file: string, source: string): string[] {
  return linter
    .verify(source, config, file)
    .map((message) => message.ruleId ?? message.message)
    .filter((rule) => rule === 'no-restricted-imports');
}

describe('import boundaries', () => {
  test.each([
    ['src/intake/x.ts', "import { startEhrDeliveryWorker } from '../delivery/ehr-delivery-worker.ts';"],
    ['src/intake/x.ts', "import type { Ehr } from '../delivery/ehr.ts';"],
    ['src/intake/x.ts', "import { acknowledgeHandover } from '../handover/acknowledgements.ts';"],
    ['src/intake/nested/x.ts', "import type { HandoverFacts } from '../../handover/types.ts';"],
    ['src/intake/x.ts', "export { gatherFacts } from '../handover/gather-facts.ts';"],
    ['src/platform/x.ts', "import type { Store } from '../store/store.ts';"],
    ['src/platform/x.ts', "import { startWorkerLoop } from '../store/worker-loop.ts';"],
    ['src/contracts/x.ts', "import type { HandoverRouteDeps } from '../intake/handover-routes.ts';"],
  ])('%s may not: %s', (file, source) => {
    expect(refusals(file, source)).toEqual(['no-restricted-imports']);
  });

  test.each([
    ['src/intake/x.ts', "import type { Mappers } from '../contracts/mappers.ts';"],
    ['src/intake/x.ts', "import { handoverOutgoing } from '../events/discharge-requested.ts';"],
    ['src/intake/x.ts', "import { handoverRoutes } from './handover-routes.ts';"],
    ['src/store/x.ts', "import type { Logger } from '../platform/logger.ts';"],
    ['src/handover/x.ts', "import type { Ehr } from '../delivery/ehr.ts';"],
    ['src/service.ts', "import { acknowledgeHandover } from './handover/acknowledgements.ts';"],
  ])('%s may: %s', (file, source) => {
    expect(refusals(file, source)).toEqual([]);
  });
});
