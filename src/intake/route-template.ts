/**
 * The template of the route a request was for (/v1/submissions/:id), never the URL as sent: a
 * path can carry anything a caller typed — a national id, a name, an e-mail address — and what
 * the service writes down about a request (the audit log, the request log line) must not.
 *
 * A request Express routed has its template on req.route. One refused before routing (401, 413,
 * 429…) or routed nowhere (404) is matched against the templates the app declares; failing that
 * it is "(no route)".
 */
import type { Express, Request } from 'express';

const NO_ROUTE = '(no route)';

interface Layer {
  readonly route?: { readonly path?: unknown };
  readonly handle?: { readonly stack?: readonly Layer[] };
}

/** `path`: the request's path as it arrived (req.path is relative while a mounted middleware runs). */
export type RouteTemplateOf = (req: Request, path?: string) => string;

export function routeTemplates(app: Express): RouteTemplateOf {
  // Read at the first request, when every route is registered.
  let known: readonly { template: string; pattern: RegExp }[] | undefined;
  return (req, path = req.path) => {
    const routed = (req.route as { path?: unknown } | undefined)?.path;
    if (typeof routed === 'string') return routed;
    known ??= declaredTemplates(app).map((template) => ({ template, pattern: patternOf(template) }));
    return known.find((candidate) => candidate.pattern.test(path))?.template ?? NO_ROUTE;
  };
}

function declaredTemplates(app: Express): string[] {
  const templates = new Set<string>();
  const walk = (stack: readonly Layer[]): void => {
    for (const layer of stack) {
      const path = layer.route?.path;
      if (typeof path === 'string') templates.add(path);
      if (layer.handle?.stack !== undefined) walk(layer.handle.stack);
    }
  };
  walk((app as unknown as { router: { stack: readonly Layer[] } }).router.stack);
  // Static templates first: /v1/submissions/x must not be read as /v1/:kind/x.
  return [...templates].sort((a, b) => Number(a.includes(':')) - Number(b.includes(':')));
}

function patternOf(template: string): RegExp {
  const escaped = template
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${escaped}/?$`);
}
