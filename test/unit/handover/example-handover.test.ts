import { exampleHandoverFacts, exampleHandoverMessage } from '../../../src/handover/edi/example-handover.ts';
import { parseArgs } from '../../../src/cli/args.ts';
import { factsFor } from '../../support/ehr-view.ts';
import { handoverCohort } from '../../support/handover-cohort.ts';
import { SCHEMAS, validateAgainstXsd } from '../../support/xmllint.ts';

describe('the built-in example handover (hit-bridge handover render --example)', () => {
  it('its stored facts are what the synthetic typical discharge gives today (regenerate the JSON when this fails)', () => {
    expect(exampleHandoverFacts()).toEqual(JSON.parse(JSON.stringify(factsFor(handoverCohort('typical', 'example')))));
  });

  it('renders a schema-valid e-message', async () => {
    expect(validateAgainstXsd((await exampleHandoverMessage()).xml, SCHEMAS.handoverMessage)).toEqual({ valid: true });
  });

  it('is the command "handover render --example"; --discharge takes a submission id', () => {
    expect(parseArgs(['handover', 'render', '--example'])).toEqual({
      ok: true,
      value: { command: 'handover-render-example' },
    });
    expect(parseArgs(['handover', 'render', '--discharge', 'd-1'])).toMatchObject({
      ok: false,
      error: expect.stringContaining('a UUID') as unknown,
    });
    expect(parseArgs(['handover', 'render', '--discharge', '6f1c2a9e-2b7d-4c1e-9a55-0d3f4b6e8a21'])).toEqual({
      ok: true,
      value: { command: 'handover-render-discharge', submissionId: '6f1c2a9e-2b7d-4c1e-9a55-0d3f4b6e8a21' },
    });
    expect(parseArgs(['handover', 'send']).ok).toBe(false);
  });
});
