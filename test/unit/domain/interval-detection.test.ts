// Finding a 4x4's structure in a recording: each case's golden file holds the truth worked out
// from the trace that generated it (test/support/recording-cases.ts); the detection must land
// within ±15 s of every interval's edges and ±2 bpm of its mean heart rate, with the flags a
// therapist should see. A property test does the same over generated traces with bounded noise.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { detectSessionStructure, type SessionStructure } from '../../../src/domain/interval-detection.ts';
import { HR_MAX, RECORDING_CASES } from '../../support/recording-cases.ts';
import { fourByFourPhases, traceSamples, truthOf, type Truth, type TraceSpec } from '../../support/recordings.ts';

const EDGE_TOLERANCE_S = 15;
const MEAN_TOLERANCE_BPM = 2;

interface Golden {
  readonly truth: Truth;
  readonly method: SessionStructure['method'];
  readonly flags: readonly string[];
}

function lapsOf(spec: TraceSpec): { startT: number; durationS: number }[] {
  if (!spec.laps) return [];
  let t = 0;
  return spec.phases.map((phase) => {
    const lap = { startT: t, durationS: phase.seconds };
    t += phase.seconds;
    return lap;
  });
}

function detect(spec: TraceSpec, modality: string, expected: number | undefined = 4): SessionStructure {
  return detectSessionStructure(traceSamples(spec), lapsOf(spec), {
    hrMaxBpm: HR_MAX,
    lookForIntervals: modality !== 'strength',
    expectedIntervals: modality === 'strength' ? undefined : expected,
  });
}

function expectWithinTruth(found: SessionStructure, truth: Truth): void {
  expect(found.intervals).toHaveLength(truth.intervals.length);
  found.intervals.forEach((interval, index) => {
    const real = truth.intervals[index];
    if (real === undefined) throw new Error('more intervals than the truth');
    expect(Math.abs(interval.startT - real.startT)).toBeLessThanOrEqual(EDGE_TOLERANCE_S);
    expect(Math.abs(interval.endT - real.endT)).toBeLessThanOrEqual(EDGE_TOLERANCE_S);
    expect(Math.abs((interval.meanHr ?? 0) - real.meanHr)).toBeLessThanOrEqual(MEAN_TOLERANCE_BPM);
  });
}

describe('detectSessionStructure on the recorded cases', () => {
  it.each(Object.keys(RECORDING_CASES))('%s: finds the structure the trace was made with', (name) => {
    const { spec, modality } = RECORDING_CASES[name] ?? ({} as never);
    const found = detect(spec, modality);
    const file = join('test', 'fixtures', 'recordings', `${name}.expected.json`);
    const current: Golden = { truth: truthOf(spec), method: found.method, flags: found.flags.map((flag) => flag.code) };
    // The golden file is written once from the generating trace, then read: a change in the
    // detection's method or flags, or in the truth, shows up as a diff to review.
    if (!existsSync(file) || process.env.UPDATE_GOLDEN === '1')
      writeFileSync(file, `${JSON.stringify(current, null, 2)}\n`);
    const golden = JSON.parse(readFileSync(file, 'utf8')) as Golden;
    expect(current).toEqual(golden);
    expectWithinTruth(found, golden.truth);
  });

  it('uses the laps when the watch recorded laps that fit a 4x4', () => {
    const found = detect(RECORDING_CASES['treadmill-4x4-with-laps']?.spec ?? ({} as never), 'treadmill');
    expect(found.method).toBe('laps');
    expect(found.confidence).toBe('high');
  });

  it('flags "3 intervals found, expected 4" on a session cut short', () => {
    const found = detect(RECORDING_CASES['treadmill-three-intervals']?.spec ?? ({} as never), 'treadmill');
    expect(found.flags.map((flag) => flag.message)).toContain('3 intervals found, expected 4.');
    expect(found.confidence).toBe('low');
  });

  it('finds no intervals in a strength session, and looks for none', () => {
    const found = detect(RECORDING_CASES['strength-session']?.spec ?? ({} as never), 'strength');
    expect(found.method).toBe('none');
    expect(found.intervals).toEqual([]);
    expect(found.flags.map((flag) => flag.code)).not.toContain('no-intervals');
  });

  it('says the HRmax is probably underestimated when the pulse goes above it', () => {
    const spec: TraceSpec = {
      ...(RECORDING_CASES['treadmill-4x4-without-laps']?.spec ?? ({} as never)),
      phases: fourByFourPhases({ hrMax: HR_MAX, intervalPercent: 104 }),
    };
    const found = detect(spec, 'treadmill');
    expect(found.flags.map((flag) => flag.code)).toContain('peak-above-hrmax');
  });

  it('says which interval never reached the zone', () => {
    const spec: TraceSpec = {
      ...(RECORDING_CASES['treadmill-4x4-without-laps']?.spec ?? ({} as never)),
      phases: fourByFourPhases({ hrMax: HR_MAX, intervalPercent: 82 }),
    };
    const found = detect(spec, 'treadmill');
    expect(found.flags.filter((flag) => flag.code === 'never-in-zone')).toHaveLength(4);
    expect(found.flags.map((flag) => flag.message)).toContain('Interval 1 never reached the zone (162–180 bpm).');
  });

  it('counts the time in zone from the pulse, not from the interval length', () => {
    const found = detect(RECORDING_CASES['treadmill-4x4-without-laps']?.spec ?? ({} as never), 'treadmill');
    for (const interval of found.intervals) {
      // The first minute or so is spent reaching the zone.
      expect(interval.secondsInZone).toBeGreaterThan(150);
      expect(interval.secondsInZone).toBeLessThan(interval.durationS);
    }
  });
});

describe('detectSessionStructure on generated traces (property)', () => {
  // Bounds the detection is promised to work within: 2–6 intervals of 3–5 minutes at 88–95 % of
  // HRmax, pauses of 2–4 minutes, reading jitter up to ±4 bpm, up to 1 % spikes, up to three
  // dropouts of at most 20 s each.
  const traces = fc.record({
    intervals: fc.integer({ min: 2, max: 6 }),
    intervalSeconds: fc.array(fc.integer({ min: 180, max: 300 }), { minLength: 6, maxLength: 6 }),
    pauseSeconds: fc.integer({ min: 120, max: 240 }),
    intervalPercent: fc.integer({ min: 88, max: 95 }),
    jitter: fc.integer({ min: 0, max: 4 }),
    spikeShare: fc.double({ min: 0, max: 0.01, noNaN: true }),
    seed: fc.integer({ min: 1, max: 1_000_000 }),
    dropouts: fc.array(fc.tuple(fc.integer({ min: 0, max: 2400 }), fc.integer({ min: 1, max: 20 })), { maxLength: 3 }),
  });

  it('finds every interval within ±15 s and its mean heart rate within ±2 bpm', () => {
    fc.assert(
      fc.property(traces, (trace) => {
        const phases = fourByFourPhases({
          hrMax: HR_MAX,
          intervals: trace.intervals,
          intervalPercent: trace.intervalPercent,
          intervalSeconds: trace.intervalSeconds,
        }).map((phase) => (phase.kind === 'pause' ? { ...phase, seconds: trace.pauseSeconds } : phase));
        const spec: TraceSpec = {
          ...(RECORDING_CASES['treadmill-4x4-without-laps']?.spec ?? ({} as never)),
          phases,
          noise: { seed: trace.seed, hrJitter: trace.jitter, spikeShare: trace.spikeShare, dropouts: trace.dropouts },
        };
        expectWithinTruth(detect(spec, 'treadmill', trace.intervals), truthOf(spec));
      }),
      { numRuns: 100, seed: 20261205 },
    );
  });
});
