/**
 * hit-bridge authenticating to the EHR with SMART Backend Services, against the real peers: a
 * real Keycloak issues the tokens (client credentials, private_key_jwt, ES384) and the real HAPI
 * FHIR server behind /secured/fhir accepts only its tokens. Token requests are counted from
 * Keycloak's own event log, not from a stand-in. Each test registers a client of its own through
 * Keycloak's admin REST API (fresh key, its own token lifetime), so nothing is shared with other
 * suites.
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/platform/config.ts';
import { startService, type RunningService } from '../../src/service.ts';
import { adminToken } from '../peers/keycloak.ts';
import { bridgeClient, EHR_SCOPE, publicJwks, REALM } from '../peers/keycloak-realm.ts';
import {
  delivered,
  postPrescription,
  prepareEhr,
  prescriptionCountsInEhr,
  waitForStatus,
} from '../support/prescription-deliveries.ts';
import { silentLogger } from '../support/silent-logger.ts';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this suite through "npm run test:peers" (Keycloak and HAPI)`);
  return value;
}

const openEhr = required('EHR_BASE_URL');
const securedEhr = required('HAPI_SECURED_BASE_URL');
const keycloak = required('KEYCLOAK_URL');
const tokenUrl = required('KEYCLOAK_TOKEN_URL');
const adminPassword = required('KEYCLOAK_ADMIN_PASSWORD');

async function admin(method: string, path: string, body?: unknown): Promise<Response> {
  const token = await adminToken(keycloak, adminPassword);
  return fetch(`${keycloak}/admin/realms/${REALM}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

interface TestClient {
  readonly clientId: string;
  readonly key: KeyObject;
  /** Keycloak's internal id, for the admin API. */
  readonly id: string;
}

async function registerClient(accessTokenLifespanS: number): Promise<TestClient> {
  const clientId = `hit-bridge-it-${randomBytes(4).toString('hex')}`;
  const key = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
  const created = await admin(
    'POST',
    '/clients',
    bridgeClient({ clientId, jwks: await publicJwks(key, 'ES384'), algorithm: 'ES384', accessTokenLifespanS }),
  );
  expect(created.status).toBe(201);
  const found = (await (await admin('GET', `/clients?clientId=${clientId}`)).json()) as { id: string }[];
  const id = found[0]?.id;
  if (id === undefined) throw new Error(`client ${clientId} not found after creating it`);
  return { clientId, key, id };
}

async function setEnabled(client: TestClient, enabled: boolean): Promise<void> {
  const current = (await (await admin('GET', `/clients/${client.id}`)).json()) as Record<string, unknown>;
  const updated = await admin('PUT', `/clients/${client.id}`, { ...current, enabled });
  expect(updated.status).toBe(204);
}

/** Token requests Keycloak granted this client, from its event log. */
async function tokensIssued(client: TestClient): Promise<number> {
  const response = await admin('GET', `/events?client=${client.clientId}&type=CLIENT_LOGIN&max=1000`);
  expect(response.status).toBe(200);
  return ((await response.json()) as unknown[]).length;
}

async function startWith(client: TestClient): Promise<RunningService> {
  const loaded = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'hit-bridge-ehr-auth-')),
    LOG_LEVEL: 'silent',
    AUTH_MODE: 'off',
    EHR_BASE_URL: securedEhr,
    EHR_AUTH_MODE: 'smart-backend',
    EHR_TOKEN_URL: tokenUrl,
    EHR_CLIENT_ID: client.clientId,
    EHR_PRIVATE_KEY: client.key.export({ type: 'pkcs8', format: 'pem' }).toString(),
    EHR_SCOPES: EHR_SCOPE,
    EHR_RETRY_INITIAL_MS: '200',
    EHR_RETRY_MAX_MS: '1000',
    EHR_BREAKER_COOLDOWN_MS: '500',
    // A loaded machine's HAPI can take long over a first transaction; a timeout would only add attempts.
    EHR_TIMEOUT_MS: '120000',
  });
  if (!loaded.ok) throw new Error(loaded.errors.join('; '));
  return startService(loaded.config, silentLogger);
}

beforeAll(async () => {
  // The realm records token grants (keycloak-realm.ts); said again here for a realm made before that.
  const events = await admin('PUT', '/events/config', {
    eventsEnabled: true,
    enabledEventTypes: ['CLIENT_LOGIN', 'CLIENT_LOGIN_ERROR'],
    eventsExpiration: 3600,
  });
  expect(events.status).toBe(204);
  await prepareEhr(openEhr);
});

describe('the test EHR behind Keycloak', () => {
  test('refuses a request without a token, and one with a token Keycloak did not sign', async () => {
    const bare = await fetch(`${securedEhr}/metadata`);
    expect(bare.status).toBe(401);
    expect(bare.headers.get('www-authenticate')).toMatch(/^Bearer /);
    const forged = await fetch(`${securedEhr}/metadata`, {
      headers: { authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.' },
    });
    expect(forged.status).toBe(401);
  });
});

describe('SMART Backend Services to the EHR, against Keycloak', () => {
  test('the first delivery fetches a token and the next deliveries reuse it', async () => {
    const client = await registerClient(300);
    const service = await startWith(client);
    try {
      const source = `it-auth-${randomBytes(3).toString('hex')}`;
      expect(await tokensIssued(client)).toBe(0);
      expect(
        (await waitForStatus(service.url, await postPrescription(service.url, `${source}-1`), delivered)).status,
      ).toBe('delivered');
      expect(await tokensIssued(client)).toBe(1);
      for (const n of [2, 3]) {
        expect(
          (await waitForStatus(service.url, await postPrescription(service.url, `${source}-${n}`), delivered)).status,
        ).toBe('delivered');
      }
      expect(await tokensIssued(client)).toBe(1);
      for (const n of [1, 2, 3])
        expect(new Set(await prescriptionCountsInEhr(openEhr, `${source}-${n}`))).toEqual(new Set([1]));
    } finally {
      await service.stop();
    }
  });

  test('a token past its lifetime is replaced before the next delivery', async () => {
    // 10 s tokens: hit-bridge stops using one 2 s before it expires.
    const client = await registerClient(10);
    const service = await startWith(client);
    try {
      const source = `it-auth-${randomBytes(3).toString('hex')}`;
      expect(
        (await waitForStatus(service.url, await postPrescription(service.url, `${source}-1`), delivered)).status,
      ).toBe('delivered');
      const before = await tokensIssued(client);
      expect(before).toBeGreaterThanOrEqual(1);
      await new Promise((resolve) => setTimeout(resolve, 11_000));
      expect(
        (await waitForStatus(service.url, await postPrescription(service.url, `${source}-2`), delivered)).status,
      ).toBe('delivered');
      expect(await tokensIssued(client)).toBeGreaterThan(before);
      expect(new Set(await prescriptionCountsInEhr(openEhr, `${source}-2`))).toEqual(new Set([1]));
    } finally {
      await service.stop();
    }
  });

  test('a disabled client is shown on the status timeline in plain words, and the record is delivered once it is enabled again', async () => {
    const client = await registerClient(300);
    await setEnabled(client, false);
    const service = await startWith(client);
    try {
      const source = `it-auth-${randomBytes(3).toString('hex')}`;
      const id = await postPrescription(service.url, source);
      const refused = await waitForStatus(service.url, id, (body) =>
        body.timeline.some((entry) => entry.message.includes("refused hit-bridge's credentials")),
      );
      expect(refused.status).toBe('accepted');
      const attempt = refused.timeline.find((entry) => entry.message.includes("refused hit-bridge's credentials"));
      expect(attempt?.message).toMatch(
        /^EHR attempt \d+: not sent, no access token — the EHR's authorization server refused hit-bridge's credentials \((400|401) (invalid_client|unauthorized_client)/,
      );
      expect(new Set(await prescriptionCountsInEhr(openEhr, source))).toEqual(new Set([0]));

      await setEnabled(client, true);
      const done = await waitForStatus(service.url, id, delivered);
      expect(done.status).toBe('delivered');
      expect(new Set(await prescriptionCountsInEhr(openEhr, source))).toEqual(new Set([1]));
    } finally {
      await service.stop();
    }
  });
});
