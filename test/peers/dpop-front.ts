/**
 * The DPoP-secured EHR for the tests: an HTTP front, in the test process, that lets a request
 * through to HAPI's FHIR endpoint only when the shared DPoP check (dpop-guard.ts) accepts it, the
 * way an NHN API guards itself. A refusal is answered 401 with `WWW-Authenticate: DPoP error=…,
 * error_description=…` and an OperationOutcome saying the same, so the client can tell why.
 * Why a front rather than HAPI's own servlet filter: docs/adr/0018.
 *
 * `alter` stands in for someone between hit-bridge and the EHR who has copied a request (token and
 * proof): it may change the request before the check sees it (another method or URL, the proof
 * replayed, re-signed with another key, the token sent as Bearer). The check must refuse each.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDpopGuard, type DpopGuard, type DpopGuardOptions, type DpopRequest } from './dpop-guard.ts';

export interface DpopFront {
  /** The FHIR base URL hit-bridge is given. */
  readonly url: string;
  readonly guard: DpopGuard;
  /** Changes each request before the check (an attacker in the middle); identity by default. */
  alter: (request: DpopRequest) => DpopRequest | Promise<DpopRequest>;
  /** What the check answered, in order: 'accepted' or the refusal's description. */
  readonly verdicts: string[];
  stop(): Promise<void>;
}

export interface DpopFrontOptions extends DpopGuardOptions {
  /** HAPI's open FHIR base URL, e.g. http://127.0.0.1:8080/fhir. */
  readonly upstream: string;
}

/** Headers the front does not pass on: the credentials are its business, and hop-by-hop ones. */
const NOT_FORWARDED = new Set(['authorization', 'dpop', 'host', 'connection', 'content-length', 'transfer-encoding']);

export async function startDpopFront(options: DpopFrontOptions): Promise<DpopFront> {
  const guard = createDpopGuard(options);
  const upstream = options.upstream.replace(/\/$/, '');
  const verdicts: string[] = [];
  let base = '';
  const front: Omit<DpopFront, 'url' | 'stop'> = { guard, alter: (request) => request, verdicts };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const path = (req.url ?? '/').replace(/^\/fhir/, '');
    const proofs = req.headersDistinct.dpop ?? [];
    const request = await front.alter({
      method: req.method ?? 'GET',
      url: `${base}${path}`,
      authorization: req.headers.authorization,
      dpop: proofs,
    });
    const verdict = await guard.check(request);
    verdicts.push(verdict.ok ? 'accepted' : verdict.description);
    if (!verdict.ok) {
      res.writeHead(verdict.status, { ...verdict.headers, 'content-type': 'application/fhir+json' });
      res.end(JSON.stringify(operationOutcome(`${verdict.error ?? 'unauthorized'}: ${verdict.description}`)));
      return;
    }
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (!NOT_FORWARDED.has(name) && typeof value === 'string') headers.set(name, value);
    }
    const answer = await fetch(`${upstream}${path}`, {
      method: req.method ?? 'GET',
      headers,
      ...(body.length === 0 ? {} : { body }),
    });
    const out: Record<string, string> = { ...verdict.headers };
    answer.headers.forEach((value, name) => {
      if (!['content-length', 'transfer-encoding', 'connection', 'content-encoding'].includes(name)) out[name] = value;
    });
    res.writeHead(answer.status, out);
    res.end(Buffer.from(await answer.arrayBuffer()));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.writeHead(502, { 'content-type': 'application/fhir+json' });
      res.end(JSON.stringify(operationOutcome(`DPoP front: ${(error as Error).message}`)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
  return Object.assign(front, {
    url: base,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  });
}

function operationOutcome(text: string): unknown {
  return {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code: 'security', diagnostics: text }],
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
