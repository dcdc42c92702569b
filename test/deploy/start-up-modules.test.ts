/**
 * What the service loads at start-up on the embedded defaults (SQLite, events in the store, no
 * EHR, Kafka, tracing or handover endpoints): the modules of the features configured, nothing of
 * the others, no Intl object, and neither Node's bundled undici nor http2, which an ES import of
 * node:http loads (docs/adr/0047-only-what-the-configuration-uses-at-start-up.md). Each is
 * resident memory for as long as the process lives. And, run with the flags npm start gives it,
 * the heap start-up grew given back once ready (docs/adr/0051-start-up-garbage-released-once-ready.md).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PRODUCTION_NODE_FLAGS } from '../../bench/lib/service.ts';
import { until } from '../support/until.ts';

interface Probe {
  readonly files: readonly string[];
  readonly builtins: readonly string[];
  readonly intlMade: readonly string[];
  /** Bytes V8 has committed to each heap space, by name. */
  readonly heapSpaces: Readonly<Record<string, number>>;
}

/** The packages a file URL belongs to (the innermost node_modules/<name> or <@scope/name>). */
function packageOf(url: string): string | undefined {
  const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*\/node_modules\/)/.exec(url);
  return match?.[1];
}

async function probeStartUp(): Promise<Probe> {
  const dir = mkdtempSync(join(tmpdir(), 'start-up-modules-'));
  const out = join(dir, 'probe.json');
  const child = spawn(
    process.execPath,
    [...PRODUCTION_NODE_FLAGS, '--import', './test/deploy/start-up-probe.ts', 'src/main.ts'],
    {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        AUTH_MODE: 'off',
        DATA_DIR: join(dir, 'data'),
        PORT: '0',
        HOST: '127.0.0.1',
        START_UP_PROBE_OUT: out,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let log = '';
  child.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()));
  try {
    await until('the service to listen', () => log.includes('"msg":"listening"'), 30_000);
    child.kill('SIGUSR2');
    await until('the probe to write its file', () => existsSync(out) && readFileSync(out, 'utf8').endsWith('}'), 5_000);
    return JSON.parse(readFileSync(out, 'utf8')) as Probe;
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('start-up on the embedded defaults', () => {
  let probe: Probe;
  beforeAll(async () => {
    probe = await probeStartUp();
  }, 40_000);

  it('loads the packages of the features it runs, and none of Kafka, PostgreSQL, tracing, PDF plans or FIT files', () => {
    const packages = [...new Set(probe.files.map(packageOf).filter((name) => name !== undefined))];
    // What runs: the HTTP app, validation, logging, metrics, and the clients wired at start-up.
    expect(packages).toEqual(expect.arrayContaining(['express', 'ajv', 'pino', 'prom-client']));
    expect(packages).not.toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^(kafkajs|pg|pdfkit|@garmin\/fitsdk|@opentelemetry\/sdk-.*|@opentelemetry\/exporter-.*)$/,
        ),
      ]),
    );
  });

  it("loads SQLite but not Node's undici (fetch, WebSocket) nor http2", () => {
    expect(probe.builtins).toContain('NativeModule sqlite');
    expect(probe.builtins.filter((name) => /undici|http2/.test(name))).toEqual([]);
  });

  it('makes no Intl object: the first one reads ICU data into memory', () => {
    expect(probe.intlMade).toEqual([]);
  });

  it("gives back start-up's garbage once ready: the young generation shrunk from the 2 × 8 MB start-up grew it to", () => {
    // Run as npm start runs it; V8's smallest young generation is 2 × 0.5 MB, start-up's leaves 16.8 MB.
    expect(probe.heapSpaces.new_space).toBeLessThanOrEqual(4 * 1024 * 1024);
  });
});
