/**
 * A thin front before Keycloak that demands a DPoP nonce at the token endpoint, as HelseID does
 * and Keycloak does not (docs/reference/helseid.md §5): a token request whose proof lacks the
 * current nonce is answered 400 `{"error":"use_dpop_nonce"}` with a `DPoP-Nonce` header; one that
 * carries it is passed to Keycloak, and the answer gets the nonce header too. Everything else
 * (discovery, JWKS) passes untouched.
 *
 * The Host header is passed on as the client sent it, so Keycloak (hostname not fixed) takes the
 * front's address for its own: discovery names the front's token endpoint, the issuer is the
 * front's, and Keycloak checks the proof's htu and the assertion's aud against the front's URLs.
 */
import { request as httpRequest, createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';

export interface NonceFront {
  /** The front's origin; the realm's issuer through it is `${url}/realms/<realm>`. */
  readonly url: string;
  /** Token requests answered with use_dpop_nonce, and token requests passed to Keycloak. */
  readonly counts: { challenged: number; passed: number };
  /** Hold each token request this long before passing it on (a slow network). */
  delayMs: number;
  stop(): Promise<void>;
}

const TOKEN_PATH = /^\/realms\/[^/]+\/protocol\/openid-connect\/token$/;

export async function startNonceFront(options: { readonly upstream: string }): Promise<NonceFront> {
  const upstream = new URL(options.upstream);
  const nonce = randomBytes(16).toString('base64url');
  const counts = { challenged: 0, passed: 0 };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const isTokenRequest = req.method === 'POST' && TOKEN_PATH.test((req.url ?? '').split('?')[0] ?? '');
    const extra: Record<string, string> = {};
    if (isTokenRequest) {
      if (proofNonce(req.headers.dpop) !== nonce) {
        counts.challenged += 1;
        res.writeHead(400, { 'content-type': 'application/json', 'dpop-nonce': nonce, 'cache-control': 'no-store' });
        res.end(
          JSON.stringify({
            error: 'use_dpop_nonce',
            error_description: 'Authorization server requires nonce in DPoP proof',
          }),
        );
        return;
      }
      counts.passed += 1;
      extra['dpop-nonce'] = nonce;
      if (front.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, front.delayMs));
    }
    await new Promise<void>((resolve, reject) => {
      const forwarded = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, 'content-length': String(body.length) },
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, { ...answer.headers, ...extra });
          answer.pipe(res);
          answer.on('end', resolve);
          answer.on('error', reject);
        },
      );
      forwarded.on('error', reject);
      forwarded.end(body);
    });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const front: NonceFront = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts,
    delayMs: 0,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
  return front;
}

function proofNonce(header: string | string[] | undefined): unknown {
  if (typeof header !== 'string') return undefined;
  try {
    return decodeJwt(header).nonce;
  } catch {
    return undefined;
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
