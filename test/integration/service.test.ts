import { mkdtempSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/platform/config.ts';
import { startService, type RunningService } from '../../src/service.ts';
import { peerEnv } from '../support/peers-env.ts';
import { spawnService } from '../support/service-process.ts';
import { silentLogger } from '../support/silent-logger.ts';

function config(env: Record<string, string>): Config {
  const result = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'hit-bridge-service-')),
    PATIENT_KEY_SECRET: 'integration-test-secret-0123456789',
    AUTH_MODE: 'off',
    ...env,
  });
  if (!result.ok) throw new Error(result.errors.join('; '));
  return result.config;
}

/** A TCP server that accepts connections and never answers: a dependency that hangs. */
async function blackHole(): Promise<{ url: string; server: Server }> {
  const server = createServer(() => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}/fhir`, server };
}

/** The peers' addresses removed: these tests are about the embedded defaults. */
const EMBEDDED = { KAFKA_BROKERS: undefined, EHR_BASE_URL: undefined, DATABASE_URL: undefined };

describe('the service process (npm start)', () => {
  it('serves /healthz with 200 on embedded defaults when started with npm start', async () => {
    const service = spawnService('npm', ['start', '--silent'], {
      ...EMBEDDED,
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: mkdtempSync(join(tmpdir(), 'hit-bridge-npm-start-')),
    });
    try {
      const listening = await service.waitForLine((line) => line.msg === 'listening', 30_000);
      const response = await fetch(`http://127.0.0.1:${String(listening.port)}/healthz`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ status: 'ok' });
      // npm start's development profile (dev.env) turns authentication off, and says so.
      expect(service.lines).toContainEqual(
        expect.objectContaining({ level: 'warn', msg: expect.stringContaining('AUTH_MODE=off') as unknown }),
      );
    } finally {
      service.signal('SIGTERM');
      await service.exited;
    }
  });

  it('stops cleanly with exit code 0 on SIGTERM, logging that it stopped', async () => {
    const service = spawnService(process.execPath, ['src/main.ts'], {
      ...EMBEDDED,
      AUTH_MODE: 'off',
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: mkdtempSync(join(tmpdir(), 'hit-bridge-sigterm-')),
    });
    await service.waitForLine((line) => line.msg === 'listening', 30_000);
    service.signal('SIGTERM');
    expect(await service.exited).toBe(0);
    expect(service.lines.map((line) => line.msg)).toEqual(
      expect.arrayContaining([
        'signal received',
        'shutting down: no new requests, finishing in-flight ones',
        'stopped',
      ]),
    );
  });

  it('refuses to start without an issuer when nothing turns authentication off (outside npm start), exiting 78', async () => {
    const service = spawnService(process.execPath, ['src/main.ts'], {
      ...EMBEDDED,
      AUTH_MODE: undefined,
      AUTH_ISSUER: undefined,
      AUTH_AUDIENCE: undefined,
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: mkdtempSync(join(tmpdir(), 'hit-bridge-no-auth-')),
    });
    expect(await service.exited).toBe(78);
    expect(service.stderr()).toContain('configuration error: AUTH_ISSUER is required when AUTH_MODE is jwt');
  });

  it('refuses to start with a wrong variable, naming it on one line and exiting 78', async () => {
    const service = spawnService(process.execPath, ['src/main.ts'], {
      ...EMBEDDED,
      PORT: 'eighty',
      KAFKA_BROKERS: 'no-port',
    });
    expect(await service.exited).toBe(78);
    expect(service.stderr().trim().split('\n')).toEqual([
      'hit-bridge: configuration error: PORT must be a whole number (got "eighty")',
      'hit-bridge: configuration error: KAFKA_BROKERS must be a comma-separated list of host:port (got "no-port")',
    ]);
  });
});

describe('slow senders', () => {
  it('closes a connection whose request headers never end once REQUEST_TIMEOUT_MS has passed (408)', async () => {
    const service = await startService(config({ REQUEST_TIMEOUT_MS: '1000' }), silentLogger);
    try {
      const socket = connect(service.port, '127.0.0.1');
      let received = '';
      socket.on('data', (chunk: Buffer) => {
        received += chunk.toString();
      });
      const started = performance.now();
      // Headers trickled one line a while, never the blank line that ends them.
      socket.write('POST /v1/hit-sessions HTTP/1.1\r\nHost: localhost\r\n');
      const trickle = setInterval(() => socket.write('X-Slow: 1\r\n'), 200);
      await new Promise<void>((resolve) =>
        socket.once('close', () => {
          resolve();
        }),
      );
      clearInterval(trickle);
      const tookMs = performance.now() - started;
      expect(received).toMatch(/^HTTP\/1\.1 408/);
      expect(tookMs).toBeGreaterThanOrEqual(900);
      expect(tookMs).toBeLessThan(4000);
    } finally {
      await service.stop();
    }
  });
});

describe('readiness against the real peers', () => {
  let service: RunningService | undefined;
  afterEach(async () => {
    await service?.stop();
    service = undefined;
  });

  it('is ready when Kafka, PostgreSQL and the EHR all answer', async () => {
    service = await startService(
      config({
        KAFKA_BROKERS: peerEnv('KAFKA_BROKERS'),
        DATABASE_URL: peerEnv('DATABASE_URL'),
        EHR_BASE_URL: peerEnv('EHR_BASE_URL'),
        READINESS_TIMEOUT_MS: '10000',
      }),
      silentLogger,
    );
    const response = await fetch(`${service.url}/readyz`);
    const report = (await response.json()) as { status: string; checks: { name: string; status: string }[] };
    expect(response.status).toBe(200);
    expect(report.status).toBe('ready');
    expect(report.checks.map(({ name, status }) => [name, status]).sort()).toEqual([
      ['ehr', 'up'],
      ['kafka', 'up'],
      ['postgres', 'up'],
    ]);
  });

  it('is unready (503) when the Kafka it is configured with does not answer, and says so', async () => {
    const hole = await blackHole();
    try {
      const { port } = new URL(hole.url);
      service = await startService(
        config({
          KAFKA_BROKERS: `127.0.0.1:${port}`,
          DATABASE_URL: peerEnv('DATABASE_URL'),
          READINESS_TIMEOUT_MS: '1000',
        }),
        silentLogger,
      );
      const response = await fetch(`${service.url}/readyz`);
      const report = (await response.json()) as { status: string; checks: { name: string; status: string }[] };
      expect(response.status).toBe(503);
      expect(report.checks.find((check) => check.name === 'kafka')?.status).toBe('down');
      expect(report.checks.find((check) => check.name === 'postgres')?.status).toBe('up');
    } finally {
      hole.server.close();
    }
  });

  it('stays ready but degraded while the EHR is down, so clinics can keep posting', async () => {
    service = await startService(
      config({
        DATABASE_URL: peerEnv('DATABASE_URL'),
        EHR_BASE_URL: 'http://127.0.0.1:1/fhir',
        READINESS_TIMEOUT_MS: '2000',
      }),
      silentLogger,
    );
    const response = await fetch(`${service.url}/readyz`);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { status: string }).status).toBe('degraded');
  });
});

describe('graceful shutdown', () => {
  it('finishes a request in flight before it stops', async () => {
    const hole = await blackHole();
    try {
      const service = await startService(config({ EHR_BASE_URL: hole.url, READINESS_TIMEOUT_MS: '800' }), silentLogger);
      const inFlight = fetch(`${service.url}/readyz`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const stopped = service.stop();
      const response = await inFlight;
      expect(response.status).toBe(200);
      expect(((await response.json()) as { status: string }).status).toBe('degraded');
      await expect(stopped).resolves.toBeUndefined();
      await expect(fetch(`${service.url}/healthz`)).rejects.toThrow();
    } finally {
      hole.server.close();
    }
  });

  it('gives up after SHUTDOWN_TIMEOUT_MS when in-flight work takes longer', async () => {
    const hole = await blackHole();
    try {
      const service = await startService(
        config({ EHR_BASE_URL: hole.url, READINESS_TIMEOUT_MS: '5000', SHUTDOWN_TIMEOUT_MS: '300' }),
        silentLogger,
      );
      const inFlight = fetch(`${service.url}/readyz`).then(
        (response) => response.status,
        () => 'cut off',
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      const started = Date.now();
      await expect(service.stop()).rejects.toThrow('shutdown took longer than 300 ms');
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(await inFlight).toBe('cut off');
    } finally {
      hole.server.close();
    }
  });
});
