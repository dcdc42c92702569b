/**
 * Headers that must come once. Two Authorization headers are two credentials, and Node keeps the
 * first and drops the rest (Content-Type, Content-Length and Host likewise) or joins them with a
 * comma (Idempotency-Key): either way something would be picked for the caller, and a proxy in
 * front may have picked the other one. So a request repeating any of them is refused before it
 * is authenticated, read or routed, whatever AUTH_MODE says. The raw header list is read, since
 * req.headers has already hidden the repetition.
 *
 * A repeated Content-Length never reaches the app: Node's parser refuses it (request smuggling)
 * and the server's clientError handler below answers it in the same problem+json shape.
 */
import type { Duplex } from 'node:stream';
import type { RequestHandler } from 'express';
import { badRequest, unreadableRequest, type Problem } from '../platform/problem.ts';

/** Lower-case name → how it is spelled in the answer. */
const SINGLE_HEADERS: ReadonlyMap<string, string> = new Map([
  ['authorization', 'Authorization'],
  ['content-type', 'Content-Type'],
  ['content-length', 'Content-Length'],
  ['idempotency-key', 'Idempotency-Key'],
  ['host', 'Host'],
]);

/** The single-use headers that occur more than once in a raw header list (name, value, name, value…). */
export function repeatedHeaders(rawHeaders: readonly string[]): string[] {
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = SINGLE_HEADERS.get((rawHeaders[i] ?? '').toLowerCase());
    if (name === undefined) continue;
    if (seen.has(name)) repeated.add(name);
    seen.add(name);
  }
  return [...repeated];
}

function repeatedHeaderProblem(names: readonly string[]): Problem {
  return badRequest(
    `${names.join(', ')} ${names.length === 1 ? 'was' : 'were'} sent more than once; ` +
      'each of Authorization, Content-Type, Content-Length, Idempotency-Key and Host may be sent at most once.',
    names.map((name) => ({
      field: `/headers/${name}`,
      rule: 'single-header',
      message: `${name} may be sent at most once.`,
    })),
  );
}

/** The first middleware with a say over a request: nothing before it reads a header it guards. */
export function strictHeaders(): RequestHandler {
  return (req, _res, next) => {
    const repeated = repeatedHeaders(req.rawHeaders);
    next(repeated.length === 0 ? undefined : repeatedHeaderProblem(repeated));
  };
}

/**
 * The server's 'clientError' listener: what Node's parser refuses is answered as problem+json too
 * (a repeated Content-Length with 400 naming it). The status for the rest is Node's own default
 * (431 headers too large, 413 chunk extensions too large, 408 timed out, else 400); a socket whose
 * response is already under way, or which is gone, is only closed.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  // As Node itself does: no answer into a response already under way on this socket.
  const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (!socket.writable || inFlight?.headersSent === true || error.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const problem =
    error.code === 'HPE_UNEXPECTED_CONTENT_LENGTH'
      ? repeatedHeaderProblem(['Content-Length'])
      : parserProblem(error.code);
  const body = JSON.stringify(problem);
  socket.end(
    `HTTP/1.1 ${problem.status} ${problem.title}\r\n` +
      'Content-Type: application/problem+json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}

function parserProblem(code: string | undefined): Problem {
  const status =
    code === 'HPE_HEADER_OVERFLOW'
      ? 431
      : code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW'
        ? 413
        : code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? 408
          : 400;
  return unreadableRequest(status, 'The request could not be read as HTTP/1.1.');
}
