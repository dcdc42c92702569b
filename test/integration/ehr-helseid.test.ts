/**
 * hit-bridge authenticating to the EHR the HelseID way (EHR_AUTH_MODE=helseid), against the real
 * peers: Keycloak issues DPoP-bound tokens to a client that authenticates with private_key_jwt
 * (the assertion's aud = the issuer), a front before Keycloak demands a DPoP nonce at the token
 * endpoint as HelseID does (nonce-front.ts), and HAPI is reached only through the DPoP check
 * (dpop-front.ts). Token grants are counted from Keycloak's own event log. Each test registers a
 * client of its own through Keycloak's admin REST API, with a fresh key.
 *
 * The refusals stand in for someone who copied a request on its way to the EHR (token and proof):
 * the DPoP front's `alter` changes the request before the check, and the check must refuse it —
 * and hit-bridge's status timeline must say why.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { decodeJwt, SignJWT } from 'jose';
import { generateDpopKey } from '../../src/delivery/dpop.ts';
import { loadConfig } from '../../src/platform/config.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { startService, type RunningService } from '../../src/service.ts';
import type { DpopFront } from '../peers/dpop-front.ts';
import { HELSEID_EHR_AUDIENCE, HELSEID_EHR_SCOPE } from '../peers/keycloak-realm.ts';
import {
  delivered,
  postPrescription,
  prepareEhr,
  prescriptionCountsInEhr,
  waitForStatus,
} from '../support/prescription-deliveries.ts';
import {
  CHILD_ORGNR,
  PARENT_ORGNR,
  startHelseIdPeers,
  type HelseIdPeers,
  type HelseIdTestClient,
} from '../support/helseid-peers.ts';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this suite through "npm run test:peers" (Keycloak and HAPI)`);
  return value;
}

const openEhr = required('EHR_BASE_URL');
const keycloak = required('KEYCLOAK_URL');
const adminPassword = required('KEYCLOAK_ADMIN_PASSWORD');

let peers: HelseIdPeers;
let ehr: DpopFront;
let issuer: string;

interface Running {
  readonly service: RunningService;
  /** Every log line the service wrote (level debug). */
  readonly logs: string[];
}

async function startWith(client: HelseIdTestClient, extra: Record<string, string> = {}): Promise<Running> {
  const loaded = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'hit-bridge-helseid-')),
    AUTH_MODE: 'off',
    ...peers.env(client),
    EHR_RETRY_INITIAL_MS: '200',
    EHR_RETRY_MAX_MS: '1000',
    EHR_BREAKER_COOLDOWN_MS: '500',
    EHR_TIMEOUT_MS: '120000',
    ...extra,
  });
  if (!loaded.ok) throw new Error(loaded.errors.join('; '));
  const logs: string[] = [];
  const logger = createLogger({
    level: 'debug',
    pretty: false,
    destination: new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs.push(chunk.toString('utf8'));
        done();
      },
    }),
  });
  return { service: await startService(loaded.config, logger), logs };
}

const source = (): string => `it-helseid-${randomBytes(3).toString('hex')}`;

beforeAll(async () => {
  peers = await startHelseIdPeers({ keycloakUrl: keycloak, adminPassword, ehrUpstream: openEhr });
  ({ ehr, issuer } = peers);
  await prepareEhr(openEhr);
});

afterAll(async () => {
  await peers.stop();
});

afterEach(() => {
  ehr.alter = (request) => request;
  ehr.guard.demandNonce(false);
  peers.nonceFront.delayMs = 0;
});

describe('HelseID (private_key_jwt + DPoP) to the EHR, against Keycloak', () => {
  test('three deliveries reach the DPoP-secured EHR on one token grant; the token endpoint’s nonce demand is answered once with the nonce', async () => {
    const client = await peers.registerClient();
    const challengedBefore = peers.nonceFront.counts.challenged;
    const { service, logs } = await startWith(client);
    try {
      const id = source();
      expect(await peers.tokensIssued(client)).toBe(0);
      for (const n of [1, 2, 3]) {
        expect(
          (await waitForStatus(service.url, await postPrescription(service.url, `${id}-${n}`), delivered)).status,
        ).toBe('delivered');
      }
      expect(await peers.tokensIssued(client)).toBe(1);
      expect(peers.nonceFront.counts.challenged - challengedBefore).toBe(1);
      for (const n of [1, 2, 3])
        expect(new Set(await prescriptionCountsInEhr(openEhr, `${id}-${n}`))).toEqual(new Set([1]));

      const obtained = logs.filter((line) => line.includes('HelseID access token obtained'));
      expect(obtained).toHaveLength(1);
      expect(logs.some((line) => line.includes('HelseID demanded a DPoP nonce; asking again with it'))).toBe(true);
    } finally {
      await service.stop();
    }
  });

  test('the token Keycloak issued is DPoP-bound and carries the audience, the scope and the organisation claims', async () => {
    const client = await peers.registerClient();
    let presented: string | undefined;
    ehr.alter = (request) => {
      presented = request.authorization;
      return request;
    };
    const { service } = await startWith(client);
    try {
      expect((await waitForStatus(service.url, await postPrescription(service.url, source()), delivered)).status).toBe(
        'delivered',
      );
      expect(presented).toMatch(/^DPoP /);
      const claims = decodeJwt(presented?.slice('DPoP '.length) ?? '');
      expect(claims).toMatchObject({
        iss: issuer,
        azp: client.clientId,
        'helseid://claims/client/claims/orgnr_parent': PARENT_ORGNR,
        'helseid://claims/client/claims/orgnr_child': CHILD_ORGNR,
      });
      expect(claims.aud).toBe(HELSEID_EHR_AUDIENCE);
      expect(String(claims.scope).split(' ')).toContain(HELSEID_EHR_SCOPE);
      expect((claims.cnf as { jkt?: unknown } | undefined)?.jkt).toEqual(expect.any(String));
    } finally {
      await service.stop();
    }
  });

  test('a resource-server nonce challenge is answered once, with the nonce, and the delivery goes through', async () => {
    const client = await peers.registerClient();
    const { service } = await startWith(client);
    try {
      expect((await waitForStatus(service.url, await postPrescription(service.url, source()), delivered)).status).toBe(
        'delivered',
      );
      ehr.guard.demandNonce(true);
      const before = { ...ehr.guard.counts };
      const id = source();
      expect((await waitForStatus(service.url, await postPrescription(service.url, id), delivered)).status).toBe(
        'delivered',
      );
      expect((ehr.guard.counts.use_dpop_nonce ?? 0) - (before.use_dpop_nonce ?? 0)).toBe(1);
      expect(new Set(await prescriptionCountsInEhr(openEhr, id))).toEqual(new Set([1]));
      expect(await peers.tokensIssued(client)).toBe(1);
    } finally {
      await service.stop();
    }
  });
});

describe('hit-bridge helseid token, against Keycloak', () => {
  /** Runs the command as an operator would; asynchronously, because the fronts live in this process. */
  async function helseIdToken(client: HelseIdTestClient, ...flags: string[]) {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['src/cli/hit-bridge.ts', 'helseid', 'token', '--audience', HELSEID_EHR_AUDIENCE, ...flags],
      {
        env: {
          PATH: process.env.PATH ?? '',
          AUTH_MODE: 'off',
          DATA_DIR: mkdtempSync(join(tmpdir(), 'hit-bridge-helseid-cli-')),
          ...peers.env(client),
        },
        encoding: 'utf8',
      },
    );
    return stdout;
  }

  test('fetches a token and prints its decoded claims and expiry, never the token', async () => {
    const client = await peers.registerClient();
    const printed = await helseIdToken(client);
    const report = JSON.parse(printed) as { tokenType: string; expiresInS: number; claims: Record<string, unknown> };
    expect(report.tokenType).toBe('DPoP');
    expect(report.expiresInS).toBeGreaterThan(250);
    expect(report.claims).toMatchObject({ iss: issuer, aud: HELSEID_EHR_AUDIENCE, azp: client.clientId });
    expect((report.claims.cnf as { jkt?: unknown } | undefined)?.jkt).toEqual(expect.any(String));
    // No JWT (header.payload.signature) anywhere in what it printed.
    expect(printed).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/);
    expect(await peers.tokensIssued(client)).toBe(1);
  });

  test('--dry-run prints the client assertion and the DPoP proof it would send, decoded, and fetches nothing', async () => {
    const client = await peers.registerClient();
    const asked = peers.nonceFront.counts.challenged + peers.nonceFront.counts.passed;
    const printed = JSON.parse(await helseIdToken(client, '--dry-run')) as Record<
      string,
      { header: Record<string, unknown>; claims: Record<string, unknown> }
    >;
    expect(printed.clientAssertion?.header).toEqual({
      alg: 'PS256',
      kid: `${client.clientId}-key`,
      typ: 'client-authentication+jwt',
    });
    expect(printed.clientAssertion?.claims).toMatchObject({
      iss: client.clientId,
      sub: client.clientId,
      aud: issuer,
      assertion_details: { type: 'helseid_authorization' },
    });
    expect(printed.dpopProof?.header).toMatchObject({ typ: 'dpop+jwt', alg: 'ES256' });
    expect(printed.dpopProof?.claims).toMatchObject({ htm: 'POST' });
    expect(peers.nonceFront.counts.challenged + peers.nonceFront.counts.passed).toBe(asked);
    expect(await peers.tokensIssued(client)).toBe(0);
  });
});

describe('refusals: the peer refuses, and the timeline says why', () => {
  /** Posts one prescription with the front altering requests, and waits for the refusal on its timeline. */
  async function refusedWith(alter: DpopFront['alter'], reason: RegExp): Promise<void> {
    const client = await peers.registerClient();
    ehr.alter = alter;
    const { service } = await startWith(client);
    try {
      const id = source();
      const refused = await waitForStatus(service.url, await postPrescription(service.url, id), (body) =>
        body.timeline.some((entry) => reason.test(entry.message)),
      );
      const messages = refused.timeline.map((each) => each.message);
      expect(messages).toEqual(expect.arrayContaining([expect.stringMatching(reason)]));
      expect(messages.find((message) => reason.test(message))).toMatch(
        /EHR refused hit-bridge's credentials \(401 Unauthorized: /,
      );
      expect(refused.status).toBe('accepted');
      expect(new Set(await prescriptionCountsInEhr(openEhr, id))).toEqual(new Set([0]));
    } finally {
      await service.stop();
    }
  }

  test('a proof for another URL', async () => {
    await refusedWith(
      (request) => ({ ...request, url: `${ehr.url}/Patient` }),
      /invalid_dpop_proof: the proof is for URL http:\/\/127\.0\.0\.1:\d+\/fhir\/, the request is for .*\/fhir\/Patient/,
    );
  });

  test('a proof for another method', async () => {
    await refusedWith(
      (request) => ({ ...request, method: 'PUT' }),
      /invalid_dpop_proof: the proof is for method POST, the request is PUT/,
    );
  });

  test('a replayed proof (a copy of the request reached the EHR first)', async () => {
    await refusedWith(async (request) => {
      await ehr.guard.check(request);
      return request;
    }, /invalid_dpop_proof: the proof jti has been used before/);
  });

  test('a proof signed by another key than the token is bound to', async () => {
    const attacker = generateDpopKey();
    await refusedWith(async (request) => {
      const claims = decodeJwt(request.dpop[0] ?? '');
      const forged = await new SignJWT(claims)
        .setProtectedHeader({ typ: 'dpop+jwt', alg: attacker.alg, jwk: attacker.publicJwk })
        .sign(attacker.privateKey);
      return { ...request, dpop: [forged] };
    }, /invalid_token: the proof is signed by another key than the one the token is bound to/);
  });

  test('the DPoP-bound token sent as Bearer', async () => {
    await refusedWith(
      (request) => ({ ...request, authorization: request.authorization?.replace(/^DPoP /, 'Bearer ') }),
      /invalid_token: the token was sent with the Bearer scheme/,
    );
  });

  test('an expired client assertion: HelseID (Keycloak) refuses it, in plain words', async () => {
    const client = await peers.registerClient();
    // The assertion lives 1 s; the front holds the token request past it and Keycloak's 15 s skew.
    peers.nonceFront.delayMs = 18_000;
    const { service } = await startWith(client, { HELSEID_ASSERTION_LIFETIME_S: '1' });
    try {
      const id = source();
      const refused = await waitForStatus(
        service.url,
        await postPrescription(service.url, id),
        (body) =>
          body.timeline.some((entry) => entry.message.includes("HelseID refused hit-bridge's client assertion")),
        120_000,
      );
      // On the whole timeline, so that a failure shows what was there instead.
      expect(refused.timeline.map((each) => each.message)).toEqual(
        expect.arrayContaining([
          expect.stringMatching(
            /not sent, no access token — HelseID refused hit-bridge's client assertion \((400|401) invalid_client: Token is not active\)/,
          ),
        ]),
      );
      expect(refused.status).toBe('accepted');
      expect(await peers.tokensIssued(client)).toBe(0);
    } finally {
      await service.stop();
    }
  }, 180_000);
});

describe('privacy', () => {
  test('no private key, access token, client assertion or DPoP proof in any log line, timeline, error body or metric', async () => {
    const client = await peers.registerClient();
    const seen: string[] = [];
    ehr.alter = (request) => {
      seen.push(request.authorization?.replace(/^DPoP /, '') ?? '', ...request.dpop);
      return request;
    };
    const { service, logs } = await startWith(client);
    try {
      const okId = await postPrescription(service.url, source());
      const ok = await waitForStatus(service.url, okId, delivered);
      expect(ok.status).toBe('delivered');
      // And a refusal, so that error paths write too.
      ehr.alter = (request) => {
        seen.push(request.authorization?.replace(/^DPoP /, '') ?? '', ...request.dpop);
        return { ...request, method: 'PATCH' };
      };
      const refusedId = await postPrescription(service.url, source());
      const refused = await waitForStatus(service.url, refusedId, (body) =>
        body.timeline.some((entry) => entry.message.includes('invalid_dpop_proof')),
      );
      const metrics = await (await fetch(`${service.url}/metrics`)).text();
      const everything = [...logs, JSON.stringify(ok), JSON.stringify(refused), metrics].join('\n');
      const secrets = [client.jwk.d, client.jwk.p, client.jwk.q, client.jwk.dp, client.jwk.dq, client.jwk.qi, ...seen]
        .filter((value): value is string => typeof value === 'string' && value.length > 20)
        .flatMap((value) =>
          value.split('.').length === 3 ? [value, ...value.split('.').filter((part) => part.length > 20)] : [value],
        );
      expect(seen.length).toBeGreaterThan(1);
      expect(secrets.filter((secret) => everything.includes(secret))).toEqual([]);
      expect(everything).not.toMatch(/client_assertion=|"d":"|BEGIN PRIVATE KEY/);
    } finally {
      await service.stop();
    }
  });
});
