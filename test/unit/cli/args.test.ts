import { parseArgs } from '../../../src/cli/args.ts';

describe('the hit-bridge command line', () => {
  it.each([
    [['serve'], { command: 'serve', roles: undefined }],
    [['serve', '--roles', 'ehr'], { command: 'serve', roles: 'ehr' }],
    [['serve', '--roles=api,relay'], { command: 'serve', roles: 'api,relay' }],
    [
      ['replay', '6f1c4e52-5a8b-4c8e-9d7e-3b1f0a2c9d11'],
      { command: 'replay', submissionId: '6f1c4e52-5a8b-4c8e-9d7e-3b1f0a2c9d11' },
    ],
    [['tail'], { command: 'tail', topics: [], fromBeginning: false }],
    [
      ['tail', '--topic', 'a', '--topic=b', '--from-beginning'],
      { command: 'tail', topics: ['a', 'b'], fromBeginning: true },
    ],
    [[], { command: 'help' }],
    [['--help'], { command: 'help' }],
  ])('reads %j', (argv, expected) => {
    expect(parseArgs(argv)).toEqual({ ok: true, value: expected });
  });

  it.each([
    [
      ['serve', '--roles', 'api,worker'],
      '--roles must be a comma-separated list of api, ehr, relay, handover (got "api,worker")',
    ],
    [['serve', '--port', '1'], 'serve takes only --roles api,ehr,relay,handover'],
    [['replay'], 'replay takes exactly one submission id'],
    [['replay', 'S-2026-0042'], '"S-2026-0042" is not a submission id (a UUID)'],
    [['tail', '--follow'], 'tail does not understand "--follow"'],
    [['deliver'], 'unknown command "deliver"'],
  ])('refuses %j, saying why', (argv, error) => {
    expect(parseArgs(argv)).toEqual({ ok: false, error });
  });
});
