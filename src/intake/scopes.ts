/**
 * Which OAuth scope each /v1 route needs, in one table, so what a client may do is read in one
 * place (the OpenAPI document says the same per operation; a unit test holds them together).
 * A /v1 path that is not listed needs `admin`: a route added without a line here is closed to
 * clinic clients until someone decides who may call it.
 */
import { INPUT_KINDS, KINDS } from '../kinds/kinds.ts';

export type Scope =
  /** Submit and preview clinic inputs (HIT sessions, fitness tests, prescriptions, discharges). */
  | 'hit.write'
  /** Read where submissions are (status, timeline, the message browser and its summary). */
  | 'hit.read'
  /** Acknowledge a handover packet (the municipality). */
  | 'handover.ack'
  /** Operator actions (bulk replay and its progress, a discharge's handover e-message). Anything under /v1 not listed for another scope. */
  | 'admin';

/** Paths in the OpenAPI spelling ({name} for one path segment), each with its scope. */
export const ROUTE_SCOPES: readonly { readonly path: string; readonly scope: Scope }[] = [
  // POST /v1/<kind>, with the scope its descriptor names.
  ...INPUT_KINDS.map((kind): { path: string; scope: Scope } => ({ path: `/v1/${kind}`, scope: KINDS[kind].scope })),
  { path: '/v1/hit-sessions/import', scope: 'hit.write' },
  { path: '/v1/preview/{kind}', scope: 'hit.write' },
  // Before /v1/submissions/{id}, which would match them too: the first match decides.
  { path: '/v1/submissions/replay', scope: 'admin' },
  { path: '/v1/submissions/replays/{id}', scope: 'admin' },
  { path: '/v1/submissions/summary', scope: 'hit.read' },
  { path: '/v1/submissions', scope: 'hit.read' },
  { path: '/v1/submissions/{id}', scope: 'hit.read' },
  { path: '/v1/handover-acknowledgements', scope: 'handover.ack' },
  { path: '/v1/discharges/{id}/handover-message', scope: 'admin' },
];

const MATCHERS = ROUTE_SCOPES.map(({ path, scope }) => ({
  pattern: new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}/?$`),
  scope,
}));

/** The scope a request path under /v1 needs (the full path, e.g. /v1/submissions/…). */
export function scopeFor(path: string): Scope {
  return MATCHERS.find((matcher) => matcher.pattern.test(path))?.scope ?? 'admin';
}
