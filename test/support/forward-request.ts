/**
 * A local proxy's one step: a request it received passed on to `upstream` (same method, path,
 * headers and body; Host rewritten) and the answer piped back. The caller decides what a failure
 * to reach upstream does to its client (the returned request's 'error').
 */
import { request, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';

export function forwardRequest(
  upstream: URL,
  incoming: IncomingMessage,
  outgoing: ServerResponse,
  /** Called once upstream's answer has been read in full. */
  onAnswered?: () => void,
): ClientRequest {
  const forwarded = request(
    {
      hostname: upstream.hostname,
      port: upstream.port,
      method: incoming.method,
      path: incoming.url,
      headers: { ...incoming.headers, host: upstream.host },
    },
    (answer) => {
      outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(outgoing);
      if (onAnswered !== undefined) answer.once('end', onAnswered);
    },
  );
  incoming.pipe(forwarded);
  return forwarded;
}
