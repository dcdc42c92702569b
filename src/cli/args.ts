/** The hit-bridge command line, parsed (pure: no I/O, so every form is unit-tested). */
import { parseFilter } from '../intake/submission-filter.ts';
import type { SubmissionFilter } from '../store/store.ts';

type Command =
  | { readonly command: 'serve'; readonly roles: string | undefined }
  | { readonly command: 'replay'; readonly submissionId: string }
  | {
      readonly command: 'replay-matching';
      /** since, until resolved against the clock by resolveFilter. */
      readonly filter: CliFilter;
      readonly dryRun: boolean;
    }
  | { readonly command: 'submissions-list'; readonly filter: CliFilter; readonly limit: number }
  | { readonly command: 'submissions-summary' }
  | { readonly command: 'tail'; readonly topics: readonly string[]; readonly fromBeginning: boolean }
  | {
      readonly command: 'audit';
      /** Absolute, or how long ago: resolved against the clock by resolveSince. */
      readonly since: Since | undefined;
      readonly submissionId: string | undefined;
    }
  | { readonly command: 'helseid-token'; readonly audience: string; readonly dryRun: boolean }
  | { readonly command: 'handover-render-example' }
  | { readonly command: 'handover-render-discharge'; readonly submissionId: string }
  | { readonly command: 'help' };

export type Since = { readonly at: Date } | { readonly agoMs: number };

/** A submission filter as typed on the command line: times may be relative (7d) until resolved. */
export interface CliFilter {
  readonly filter: Omit<SubmissionFilter, 'since' | 'until'>;
  readonly since: Since | undefined;
  readonly until: Since | undefined;
}

export type Parsed = { readonly ok: true; readonly value: Command } | { readonly ok: false; readonly error: string };

export const USAGE = `usage: hit-bridge <command>

  serve [--roles api,ehr,relay,handover]   run the service (all roles unless --roles says otherwise)
  replay <submission-id>          re-queue a failed submission once its cause is fixed
  replay --status failed [<filters>] [--dry-run]
                                  re-queue every failed submission the filters match (at most
                                  REPLAY_MAX); --dry-run only counts them
  submissions list [<filters>] [--limit <n>]
                                  the submissions the filters match, newest first, one JSON line each
  submissions summary             counts by kind and status, failures by reason, oldest undelivered
  <filters>: --status, --kind, --source, --since <time>|<n>m|<n>h|<n>d, --until <time>|…,
             --patient-key (the pseudonymous key), --failure-reason, --ehr-status, --error-text
  tail [--topic <name>]… [--from-beginning]
                                  follow the event stream, one readable line per event
  audit [--since <time>|<n>m|<n>h|<n>d] [--submission <id>]
                                  print the audit log (who called what), one JSON line per call
  helseid token --audience <a> [--dry-run]
                                  fetch a HelseID token for an audience and print its decoded
                                  claims and expiry (never the token); --dry-run fetches nothing
                                  and prints the client assertion and DPoP proof it would send
  handover render --example       print the e-message (MsgHead 1.2 with its Dialogmelding and PDF
                                  attachment) made for the built-in synthetic discharge, to
                                  validate with xmllint against third_party/kith-xsd
  handover render --discharge <id>
                                  the same for a stored discharge (its submission id), from the
                                  running service (HIT_BRIDGE_URL, default http://127.0.0.1:PORT)
                                  with an admin-scope token in HIT_BRIDGE_TOKEN: personal data
  help                            this text

Configuration comes from the environment, as for the service (see README).`;

const ROLES = /^(api|ehr|relay|handover)(,(api|ehr|relay|handover))*$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function parseArgs(argv: readonly string[]): Parsed {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return parseServe(rest);
    case 'replay': {
      if (rest[0]?.startsWith('--') === true) return parseReplayMatching(rest);
      const [id, ...extra] = rest;
      if (id === undefined || extra.length > 0) return { ok: false, error: 'replay takes exactly one submission id' };
      if (!UUID.test(id)) return { ok: false, error: `"${id}" is not a submission id (a UUID)` };
      return { ok: true, value: { command: 'replay', submissionId: id } };
    }
    case 'submissions':
      return parseSubmissions(rest);
    case 'tail':
      return parseTail(rest);
    case 'audit':
      return parseAudit(rest);
    case 'handover':
      return parseHandover(rest);
    case 'helseid':
      return parseHelseId(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      return { ok: true, value: { command: 'help' } };
    default:
      return { ok: false, error: `unknown command "${command}"` };
  }
}

function parseServe(rest: readonly string[]): Parsed {
  if (rest.length === 0) return { ok: true, value: { command: 'serve', roles: undefined } };
  const [flag, value, ...extra] = rest;
  const roles = flag?.startsWith('--roles=') ? flag.slice('--roles='.length) : flag === '--roles' ? value : undefined;
  const leftover = flag?.startsWith('--roles=') ? [value, ...extra].filter((item) => item !== undefined) : extra;
  if (roles === undefined || leftover.length > 0)
    return { ok: false, error: 'serve takes only --roles api,ehr,relay,handover' };
  if (!ROLES.test(roles))
    return { ok: false, error: `--roles must be a comma-separated list of api, ehr, relay, handover (got "${roles}")` };
  return { ok: true, value: { command: 'serve', roles } };
}

function parseTail(rest: readonly string[]): Parsed {
  const topics: string[] = [];
  let fromBeginning = false;
  for (let i = 0; i < rest.length; i += 1) {
    const arg = rest[i];
    if (arg === '--from-beginning') fromBeginning = true;
    else if (arg === '--topic' && rest[i + 1] !== undefined) {
      topics.push(rest[i + 1] as string);
      i += 1;
    } else if (arg?.startsWith('--topic=')) topics.push(arg.slice('--topic='.length));
    else return { ok: false, error: `tail does not understand "${String(arg)}"` };
  }
  return { ok: true, value: { command: 'tail', topics, fromBeginning } };
}

const AGO = /^(\d{1,6})([mhd])$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

function parseSince(text: string): Since | undefined {
  const ago = AGO.exec(text);
  if (ago) return { agoMs: Number(ago[1]) * UNIT_MS[ago[2] as keyof typeof UNIT_MS] };
  // A date, or a date and time with its zone: an ambiguous local time is refused.
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(text)) return undefined;
  const at = new Date(text);
  return Number.isNaN(at.getTime()) ? undefined : { at };
}

/** The moment `since` means, now. */
export function resolveSince(since: Since, now: Date): Date {
  return 'at' in since ? since.at : new Date(now.getTime() - since.agoMs);
}

function parseAudit(rest: readonly string[]): Parsed {
  let since: Since | undefined;
  let submissionId: string | undefined;
  for (let i = 0; i < rest.length; i += 1) {
    const arg = rest[i] ?? '';
    const equals = arg.indexOf('=');
    const flag = equals === -1 ? arg : arg.slice(0, equals);
    let value: string | undefined;
    if (equals === -1) {
      value = rest[i + 1];
      i += 1;
    } else {
      value = arg.slice(equals + 1);
    }
    if (flag === '--since' && value !== undefined) {
      since = parseSince(value);
      if (since === undefined) {
        return {
          ok: false,
          error: `--since takes a time (2026-11-23T08:00:00Z, 2026-11-23) or how long ago (30m, 24h, 7d), not "${value}"`,
        };
      }
    } else if (flag === '--submission' && value !== undefined) {
      if (!UUID.test(value)) return { ok: false, error: `"${value}" is not a submission id (a UUID)` };
      submissionId = value;
    } else {
      return { ok: false, error: `audit does not understand "${arg}"` };
    }
  }
  return { ok: true, value: { command: 'audit', since, submissionId } };
}

/** --name value or --name=value pairs, and the bare flags allowed; anything else is an error. */
function flagsOf(
  rest: readonly string[],
  bare: readonly string[],
):
  | { readonly ok: true; readonly values: Map<string, string>; readonly bare: Set<string> }
  | { readonly ok: false; readonly error: string } {
  const values = new Map<string, string>();
  const seen = new Set<string>();
  for (let i = 0; i < rest.length; i += 1) {
    const arg = rest[i] ?? '';
    if (!arg.startsWith('--')) return { ok: false, error: `"${arg}" is not a --flag` };
    if (bare.includes(arg)) {
      seen.add(arg);
      continue;
    }
    const equals = arg.indexOf('=');
    const flag = equals === -1 ? arg : arg.slice(0, equals);
    const value = equals === -1 ? rest[(i += 1)] : arg.slice(equals + 1);
    if (value === undefined) return { ok: false, error: `${flag} needs a value` };
    if (values.has(flag)) return { ok: false, error: `${flag} is given twice` };
    values.set(flag, value);
  }
  return { ok: true, values, bare: seen };
}

const FILTER_FLAGS: Readonly<Record<string, string>> = {
  '--status': 'status',
  '--kind': 'kind',
  '--source': 'source',
  '--patient-key': 'patientKey',
  '--failure-reason': 'failureReason',
  '--ehr-status': 'ehrStatus',
  '--error-text': 'errorText',
};

/** The filter flags among `values` (the rest left for the caller), checked by the HTTP API's own rules. */
function cliFilter(
  values: Map<string, string>,
  others: readonly string[],
): { ok: true; value: CliFilter } | { ok: false; error: string } {
  const fields: Record<string, string> = {};
  let since: Since | undefined;
  let until: Since | undefined;
  for (const [flag, value] of values) {
    if (flag === '--since' || flag === '--until') {
      const parsed = parseSince(value);
      if (parsed === undefined) {
        return {
          ok: false,
          error: `${flag} takes a time (2026-11-23T08:00:00Z, 2026-11-23) or how long ago (30m, 24h, 7d), not "${value}"`,
        };
      }
      if (flag === '--since') since = parsed;
      else until = parsed;
      continue;
    }
    const field = FILTER_FLAGS[flag];
    if (field !== undefined) fields[field] = value;
    else if (!others.includes(flag))
      return {
        ok: false,
        error: `${flag} is not a filter (${[...Object.keys(FILTER_FLAGS), '--since', '--until'].join(', ')})`,
      };
  }
  const checked = parseFilter(
    fields,
    (field) => `--${field.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`,
  );
  if (!checked.ok)
    return { ok: false, error: checked.errors.map((error) => `${error.field}: ${error.message}`).join('; ') };
  return { ok: true, value: { filter: checked.value, since, until } };
}

function parseReplayMatching(rest: readonly string[]): Parsed {
  const flags = flagsOf(rest, ['--dry-run']);
  if (!flags.ok) return { ok: false, error: `replay: ${flags.error}` };
  if (flags.values.get('--status') !== 'failed') {
    return { ok: false, error: 'replay with filters needs --status failed (only failed submissions are replayed)' };
  }
  const filter = cliFilter(flags.values, []);
  if (!filter.ok) return { ok: false, error: `replay: ${filter.error}` };
  return { ok: true, value: { command: 'replay-matching', filter: filter.value, dryRun: flags.bare.has('--dry-run') } };
}

function parseSubmissions(rest: readonly string[]): Parsed {
  const [sub, ...flagArgs] = rest;
  if (sub === 'summary') {
    if (flagArgs.length > 0) return { ok: false, error: 'submissions summary takes no options' };
    return { ok: true, value: { command: 'submissions-summary' } };
  }
  if (sub !== 'list') return { ok: false, error: 'submissions takes list or summary' };
  const flags = flagsOf(flagArgs, []);
  if (!flags.ok) return { ok: false, error: `submissions list: ${flags.error}` };
  const filter = cliFilter(flags.values, ['--limit']);
  if (!filter.ok) return { ok: false, error: `submissions list: ${filter.error}` };
  const limitText = flags.values.get('--limit') ?? '1000';
  const limit = /^\d{1,7}$/.test(limitText) ? Number(limitText) : 0;
  if (limit < 1) return { ok: false, error: `--limit takes a whole number of submissions, not "${limitText}"` };
  return { ok: true, value: { command: 'submissions-list', filter: filter.value, limit } };
}

/** The filter a CliFilter means, now. */
export function resolveFilter(cli: CliFilter, now: Date): SubmissionFilter {
  return {
    ...cli.filter,
    ...(cli.since === undefined ? {} : { since: resolveSince(cli.since, now) }),
    ...(cli.until === undefined ? {} : { until: resolveSince(cli.until, now) }),
  };
}

function parseHandover(rest: readonly string[]): Parsed {
  const [sub, ...flags] = rest;
  if (sub !== 'render') return { ok: false, error: 'handover takes the subcommand render: handover render --example' };
  if (flags.length === 1 && flags[0] === '--example')
    return { ok: true, value: { command: 'handover-render-example' } };
  if (flags.length === 2 && flags[0] === '--discharge') {
    const submissionId = flags[1] ?? '';
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(submissionId)) {
      return { ok: false, error: `--discharge takes the discharge's submission id (a UUID), not "${submissionId}"` };
    }
    return { ok: true, value: { command: 'handover-render-discharge', submissionId } };
  }
  return { ok: false, error: 'handover render needs --example or --discharge <id>' };
}

function parseHelseId(rest: readonly string[]): Parsed {
  const [sub, ...flags] = rest;
  if (sub !== 'token') return { ok: false, error: 'helseid takes the subcommand token: helseid token --audience <a>' };
  let audience: string | undefined;
  let dryRun = false;
  for (let i = 0; i < flags.length; i += 1) {
    const arg = flags[i] ?? '';
    if (arg === '--dry-run') dryRun = true;
    else if (arg.startsWith('--audience=')) audience = arg.slice('--audience='.length);
    else if (arg === '--audience' && flags[i + 1] !== undefined) {
      audience = flags[i + 1];
      i += 1;
    } else return { ok: false, error: `helseid token does not understand "${arg}"` };
  }
  if (audience === undefined || audience === '') {
    return { ok: false, error: 'helseid token needs --audience <a>, e.g. --audience nhn:msh' };
  }
  return { ok: true, value: { command: 'helseid-token', audience, dryRun } };
}
