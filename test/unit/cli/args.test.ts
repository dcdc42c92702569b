import { parseArgs, resolveFilter, resolveSince } from '../../../src/cli/args.ts';

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
    [['helseid', 'token', '--audience', 'nhn:msh'], { command: 'helseid-token', audience: 'nhn:msh', dryRun: false }],
    [
      ['helseid', 'token', '--dry-run', '--audience=nhn:msh'],
      { command: 'helseid-token', audience: 'nhn:msh', dryRun: true },
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
    [['helseid', 'token'], 'helseid token needs --audience <a>, e.g. --audience nhn:msh'],
    [['helseid', 'login'], 'helseid takes the subcommand token: helseid token --audience <a>'],
    [['helseid', 'token', '--audience', 'a', '--print-token'], 'helseid token does not understand "--print-token"'],
  ])('refuses %j, saying why', (argv, error) => {
    expect(parseArgs(argv)).toEqual({ ok: false, error });
  });
});

describe('hit-bridge audit', () => {
  const ID = '6f1c4e52-5a8b-4c8e-9d7e-3b1f0a2c9d11';

  it.each([
    [['audit'], { command: 'audit', since: undefined, submissionId: undefined }],
    [['audit', '--submission', ID], { command: 'audit', since: undefined, submissionId: ID }],
    [
      ['audit', '--since=2026-11-23T08:00:00Z', `--submission=${ID}`],
      { command: 'audit', since: { at: new Date('2026-11-23T08:00:00Z') }, submissionId: ID },
    ],
    [['audit', '--since', '24h'], { command: 'audit', since: { agoMs: 24 * 3_600_000 }, submissionId: undefined }],
    [['audit', '--since', '7d'], { command: 'audit', since: { agoMs: 7 * 86_400_000 }, submissionId: undefined }],
    [
      ['audit', '--since', '2026-11-23'],
      { command: 'audit', since: { at: new Date('2026-11-23') }, submissionId: undefined },
    ],
  ])('reads %j', (argv, expected) => {
    expect(parseArgs(argv)).toEqual({ ok: true, value: expected });
  });

  it.each([
    [['audit', '--since', 'yesterday'], /--since takes a time .* not "yesterday"/],
    [['audit', '--since', '2026-11-23T08:00'], /--since takes a time/],
    [['audit', '--submission', 'S-1'], /"S-1" is not a submission id/],
    [['audit', '--client', 'x'], /audit does not understand "--client"/],
    [['audit', '--since'], /audit does not understand "--since"/],
  ])('refuses %j', (argv, message) => {
    const parsed = parseArgs(argv);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatch(message);
  });

  it('resolves "how long ago" against the clock it is given, and a time as itself', () => {
    const now = new Date('2026-11-23T12:00:00Z');
    expect(resolveSince({ agoMs: 3_600_000 }, now)).toEqual(new Date('2026-11-23T11:00:00Z'));
    expect(resolveSince({ at: new Date('2026-01-01T00:00:00Z') }, now)).toEqual(new Date('2026-01-01T00:00:00Z'));
  });
});

describe('hit-bridge replay --status failed and hit-bridge submissions', () => {
  const NOW = new Date('2026-11-23T12:00:00Z');

  it('reads a bulk replay: filters (checked as the HTTP API checks them), relative times, --dry-run', () => {
    const parsed = parseArgs([
      'replay',
      '--status',
      'failed',
      '--since',
      '7d',
      '--ehr-status=404',
      '--kind',
      'hit-sessions',
      '--dry-run',
    ]);
    expect(parsed).toEqual({
      ok: true,
      value: {
        command: 'replay-matching',
        dryRun: true,
        filter: {
          filter: { status: 'failed', ehrStatus: 404, kind: 'hit-sessions' },
          since: { agoMs: 7 * 86_400_000 },
          until: undefined,
        },
      },
    });
    if (parsed.ok && parsed.value.command === 'replay-matching') {
      expect(resolveFilter(parsed.value.filter, NOW)).toEqual({
        status: 'failed',
        ehrStatus: 404,
        kind: 'hit-sessions',
        since: new Date('2026-11-16T12:00:00Z'),
      });
    }
  });

  it('reads submissions list with a limit and submissions summary', () => {
    expect(parseArgs(['submissions', 'list', '--failure-reason', 'ehr-refused', '--limit', '20'])).toEqual({
      ok: true,
      value: {
        command: 'submissions-list',
        limit: 20,
        filter: { filter: { failureReason: 'ehr-refused' }, since: undefined, until: undefined },
      },
    });
    expect(parseArgs(['submissions', 'summary'])).toEqual({ ok: true, value: { command: 'submissions-summary' } });
  });

  it.each([
    [['replay', '--since', '7d'], /needs --status failed/],
    [['replay', '--status', 'delivered'], /needs --status failed/],
    [['replay', '--status', 'failed', '--stauts', 'x'], /--stauts is not a filter/],
    [['replay', '--status', 'failed', '--patient-key', '01817012345'], /--patient-key: .*never a national id/],
    [['replay', '--status', 'failed', '--since', 'monday'], /--since takes a time/],
    [['replay', '--status', 'failed', '--kind'], /--kind needs a value/],
    [['submissions', 'list', '--limit', 'all'], /--limit takes a whole number/],
    [['submissions', 'summary', '--kind', 'x'], /takes no options/],
    [['submissions'], /takes list or summary/],
  ])('refuses %j', (argv, message) => {
    const parsed = parseArgs(argv);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatch(message);
  });
});
