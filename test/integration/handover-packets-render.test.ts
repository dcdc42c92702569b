/**
 * Both HTML packets rendered by a real browser: Debian's `chromium`, headless, to PNG. The PNGs
 * (and the HTML) are kept under test-artifacts/ (git-ignored) for a person to look at; the test
 * checks that each is a real page — the size asked for, well over a blank page's bytes, and many
 * colours. No peers are needed; it lives with the integration tests because it starts a process.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { inflateSync } from 'node:zlib';
import { buildHandoverPackets } from '../../src/handover/packets.ts';
import { factsFor } from '../support/ehr-view.ts';
import { handoverCohort, type CohortVariant } from '../support/handover-cohort.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = resolve('test-artifacts');
const WIDTH = 900;
// Tall enough for the whole Frisklivssentral page of the typical stay (about 3,250 px at this width).
const HEIGHT = 3300;

function screenshot(htmlFile: string, pngFile: string): void {
  const profile = mkdtempSync(join(tmpdir(), 'hit-bridge-chromium-'));
  try {
    const result = spawnSync(
      CHROMIUM,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--hide-scrollbars',
        `--user-data-dir=${profile}`,
        `--screenshot=${pngFile}`,
        `--window-size=${WIDTH},${HEIGHT}`,
        `file://${htmlFile}`,
      ],
      { timeout: 90_000, encoding: 'utf8' },
    );
    if (result.error !== undefined) throw result.error;
    if (result.status !== 0) throw new Error(`chromium exited with ${String(result.status)}: ${result.stderr}`);
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

interface Png {
  readonly width: number;
  readonly height: number;
  /** Distinct byte values in the decompressed image data: a blank page has a handful. */
  readonly distinctBytes: number;
}

function readPng(file: string): Png {
  const data = readFileSync(file);
  expect(data.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  const idat: Buffer[] = [];
  let width = 0;
  let height = 0;
  for (let at = 8; at < data.length;) {
    const length = data.readUInt32BE(at);
    const type = data.toString('ascii', at + 4, at + 8);
    const body = data.subarray(at + 8, at + 8 + length);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
    }
    if (type === 'IDAT') idat.push(body);
    at += 12 + length;
  }
  const pixels = inflateSync(Buffer.concat(idat));
  return { width, height, distinctBytes: new Set(pixels).size };
}

const renders: readonly [CohortVariant, 'frisklivssentral' | 'training-contact'][] = [
  ['typical', 'frisklivssentral'],
  ['typical', 'training-contact'],
  ['no-contact-details', 'frisklivssentral'],
  ['strength-only', 'training-contact'],
];

beforeAll(() => {
  mkdirSync(ARTIFACTS, { recursive: true });
});

describe('the HTML packets in headless Chromium', () => {
  it.each(renders)('%s, %s packet: renders to a full, non-blank PNG', (variant, recipient) => {
    const packets = buildHandoverPackets(factsFor(handoverCohort(variant)));
    const packet = recipient === 'frisklivssentral' ? packets.frisklivssentral : packets.trainingContact;
    if ('omitted' in packet) throw new Error(`no ${recipient} packet for ${variant}`);
    const base = join(ARTIFACTS, `handover-${variant}-${recipient}`);
    writeFileSync(`${base}.html`, packet.html);
    screenshot(`${base}.html`, `${base}.png`);

    const png = readPng(`${base}.png`);
    expect([png.width, png.height]).toEqual([WIDTH, HEIGHT]);
    // A blank page of this size compresses to a few kilobytes; text, tables and colour do not.
    expect(statSync(`${base}.png`).size).toBeGreaterThan(40_000);
    expect(png.distinctBytes).toBeGreaterThan(100);
  });
});
