/**
 * The HAPI launcher's build on a cold cache: the EHR and the DIPS-configured EHR start at once
 * from one process, and must share one Maven build. A stand-in `mvn` first on PATH records each
 * run and lays out what the real build leaves (classes/ and lib/ in the staging directory).
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildLauncher } from '../../peers/hapi.ts';

let dir: string;
let savedPath: string | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hapi-build-'));
  const runs = join(dir, 'mvn-runs');
  writeFileSync(
    join(dir, 'mvn'),
    [
      '#!/bin/sh',
      `echo run >> '${runs}'`,
      'for arg in "$@"; do',
      '  case "$arg" in',
      '    -Dhapi.peer.buildDir=*) build="${arg#*=}" ;;',
      '    -DoutputDirectory=*) lib="${arg#*=}" ;;',
      '  esac',
      'done',
      'sleep 0.3',
      'mkdir -p "$build/classes" "$lib"',
    ].join('\n'),
  );
  chmodSync(join(dir, 'mvn'), 0o755);
  savedPath = process.env.PATH;
  process.env.PATH = `${dir}:${savedPath ?? ''}`;
});

afterEach(() => {
  process.env.PATH = savedPath;
  rmSync(dir, { recursive: true, force: true });
});

const mavenRuns = (): number => readFileSync(join(dir, 'mvn-runs'), 'utf8').trim().split('\n').length;

test('two peers starting at once on a cold cache run Maven once and both get the built launcher', async () => {
  const cacheDir = join(dir, 'cache');
  const [first, second] = await Promise.all([
    buildLauncher(cacheDir, join(dir, 'hapi.log')),
    buildLauncher(cacheDir, join(dir, 'hapi-dips.log')),
  ]);
  expect(second).toBe(first);
  expect(mavenRuns()).toBe(1);
});

test('a warm cache is used without running Maven again', async () => {
  const cacheDir = join(dir, 'cache');
  const built = await buildLauncher(cacheDir, join(dir, 'hapi.log'));
  expect(await buildLauncher(cacheDir, join(dir, 'hapi.log'))).toBe(built);
  expect(mavenRuns()).toBe(1);
});
