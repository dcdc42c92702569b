/** The hit-bridge command line, parsed (pure: no I/O, so every form is unit-tested). */

export type Command =
  | { readonly command: 'serve'; readonly roles: string | undefined }
  | { readonly command: 'replay'; readonly submissionId: string }
  | { readonly command: 'tail'; readonly topics: readonly string[]; readonly fromBeginning: boolean }
  | {
      readonly command: 'audit';
      /** Absolute, or how long ago: resolved against the clock by resolveSince. */
      readonly since: Since | undefined;
      readonly submissionId: string | undefined;
    }
  | { readonly command: 'help' };

export type Since = { readonly at: Date } | { readonly agoMs: number };

export type Parsed = { readonly ok: true; readonly value: Command } | { readonly ok: false; readonly error: string };

export const USAGE = `usage: hit-bridge <command>

  serve [--roles api,ehr,relay,handover]   run the service (all roles unless --roles says otherwise)
  replay <submission-id>          re-queue a failed submission once its cause is fixed
  tail [--topic <name>]… [--from-beginning]
                                  follow the event stream, one readable line per event
  audit [--since <time>|<n>m|<n>h|<n>d] [--submission <id>]
                                  print the audit log (who called what), one JSON line per call
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
      const [id, ...extra] = rest;
      if (id === undefined || extra.length > 0) return { ok: false, error: 'replay takes exactly one submission id' };
      if (!UUID.test(id)) return { ok: false, error: `"${id}" is not a submission id (a UUID)` };
      return { ok: true, value: { command: 'replay', submissionId: id } };
    }
    case 'tail':
      return parseTail(rest);
    case 'audit':
      return parseAudit(rest);
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
