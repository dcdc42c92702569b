// schemathesis (PyPI, pinned in .ci/fuzz-tools) against contracts/openapi.yaml and the running
// service with bearer authentication on: thousands of generated requests, valid and hostile, and
// not one may get a 5xx or an answer the OpenAPI document does not describe. Its checks include
// ignored_auth (the routes really refuse requests without the token) and unsupported_method.
//
// The service runs in this process on the embedded store (the HTTP surface is under test, not the
// peers), with a stand-in issuer on loopback whose token carries every scope. Its request log is
// counted here too, so the totals and the status codes printed are the service's own.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/platform/config.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { startService, type RunningService } from '../../src/service.ts';
import { ALL_SCOPES, startTestIssuer, type TestIssuer } from '../support/jwt-issuer.ts';

const CACHE = process.env.HIT_BRIDGE_CACHE ?? join(homedir(), '.cache', 'hit-bridge');
const SCHEMATHESIS = join(CACHE, 'venv', 'bin', 'schemathesis');
/** Test cases per operation in the fuzzing phase; with the other phases about 2,800 requests. */
const MAX_EXAMPLES = Number(process.env.SCHEMATHESIS_MAX_EXAMPLES ?? 70);
/** The run is stopped (and the test fails) past this. */
const RUN_LIMIT_MS = Number(process.env.SCHEMATHESIS_LIMIT_MS ?? 8 * 60_000);
const MIN_REQUESTS = 2_000;

let issuer: TestIssuer;
let service: RunningService;
const statuses = new Map<number, number>();

beforeAll(async () => {
  if (!existsSync(SCHEMATHESIS)) {
    const installed = spawnSync('.ci/fuzz-tools', { stdio: 'inherit' });
    if (installed.status !== 0) throw new Error('.ci/fuzz-tools could not install schemathesis');
  }
  issuer = await startTestIssuer('hit-bridge');
  const loaded = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'hit-bridge-schemathesis-')),
    ROLES: 'api',
    LOG_LEVEL: 'info',
    AUTH_MODE: 'jwt',
    AUTH_ISSUER: issuer.issuer,
    AUTH_AUDIENCE: issuer.audience,
    AUTH_JWKS_URL: issuer.jwksUrl,
    // schemathesis is one client sending as fast as it can; the limit has its own tests.
    RATE_LIMIT_PER_SECOND: '100000',
    RATE_LIMIT_BURST: '100000',
  });
  if (!loaded.ok) throw new Error(loaded.errors.join('; '));
  let partial = '';
  const countRequests = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const entry = JSON.parse(line) as { msg?: string; status?: number };
        if (entry.msg === 'request' && typeof entry.status === 'number') {
          statuses.set(entry.status, (statuses.get(entry.status) ?? 0) + 1);
        }
      }
      done();
    },
  });
  service = await startService(
    loaded.config,
    createLogger({ level: 'info', pretty: false, destination: countRequests }),
  );
});

afterAll(async () => {
  await service.stop();
  await issuer.close();
});

interface Run {
  readonly code: number | null;
  readonly output: string;
  readonly ms: number;
}

function runSchemathesis(token: string): Promise<Run> {
  const started = performance.now();
  const child = spawn(
    SCHEMATHESIS,
    [
      '--config-file',
      'test/fuzz/schemathesis.toml',
      'run',
      'contracts/openapi.yaml',
      '--url',
      service.url,
      '--header',
      `Authorization: Bearer ${token}`,
      '--checks',
      'all',
      '--phases',
      'examples,coverage,fuzzing,stateful',
      '--max-examples',
      String(MAX_EXAMPLES),
      '--seed',
      process.env.SCHEMATHESIS_SEED ?? '20261123',
      '--workers',
      '2',
      '--request-timeout',
      '10',
      '--no-color',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', SCHEMATHESIS_TELEMETRY: 'false' } },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const limit = setTimeout(() => child.kill('SIGKILL'), RUN_LIMIT_MS);
  return new Promise((resolve) => {
    child.once('close', (code) => {
      clearTimeout(limit);
      resolve({ code, output, ms: performance.now() - started });
    });
  });
}

describe('schemathesis against contracts/openapi.yaml and the service, authenticated', () => {
  it(
    `sends at least ${MIN_REQUESTS} generated requests and finds no 5xx and no answer outside the contract`,
    async () => {
      const token = await issuer.token({ scope: ALL_SCOPES, clientId: 'schemathesis', expiresInSeconds: 3600 });
      const run = await runSchemathesis(token);
      const generated = Number(/(\d+) generated/.exec(run.output)?.[1] ?? 0);
      const served = [...statuses.values()].reduce((sum, count) => sum + count, 0);
      const serverErrors = [...statuses].filter(([status]) => status >= 500).reduce((sum, [, count]) => sum + count, 0);
      const byStatus = [...statuses].sort(([a], [b]) => a - b).map(([status, count]) => `${status}: ${count}`);
      process.stdout.write(
        `schemathesis: ${generated} test cases generated, ${served} requests served in ${(run.ms / 1000).toFixed(0)} s ` +
          `(${byStatus.join(', ')}); ${serverErrors} answered 5xx; exit code ${String(run.code)}\n`,
      );
      const summary = run.output.slice(run.output.lastIndexOf('SUMMARY'));
      expect([run.code, summary]).toEqual([0, expect.stringMatching(/No issues found|passed/) as unknown]);
      expect(serverErrors).toBe(0);
      expect(served).toBeGreaterThanOrEqual(MIN_REQUESTS);
    },
    RUN_LIMIT_MS + 30_000,
  );
});
