/**
 * The answer to a method a path does not support: 405 with Allow (RFC 9110 §15.5.6), mounted
 * with router.all after the path's own routes.
 */
import type { RequestHandler } from 'express';
import { methodNotAllowed } from '../platform/problem.ts';

const HINT: Readonly<Record<'GET' | 'POST', string>> = {
  GET: 'only GET (and HEAD) is supported here.',
  POST: 'POST the input as JSON.',
};

export function onlyMethod(method: 'GET' | 'POST'): RequestHandler {
  const allow = method === 'GET' ? 'GET, HEAD' : 'POST';
  return (req, _res, next) => {
    next(methodNotAllowed(`${req.method} is not supported here; ${HINT[method]}`, allow));
  };
}
