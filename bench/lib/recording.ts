/**
 * Reading a pulse watch's recording: parse + find the structure, in CPU milliseconds per hour of
 * 1 Hz recording, for FIT and TCX. The recording is an hour of 4x4-like work (eight intervals)
 * with noise, spikes and dropouts, made by the same generator the tests use.
 */
import { parseFit } from '../../src/intake/recordings/fit.ts';
import { parseTcx } from '../../src/intake/recordings/tcx.ts';
import { DEFAULT_RECORDING_LIMITS, type Recording } from '../../src/intake/recordings/recording.ts';
import { detectSessionStructure } from '../../src/domain/interval-detection.ts';
import { fitFile, fourByFourPhases, tcxFile, type TraceSpec } from '../../test/support/recordings.ts';
import { round } from './accept.ts';

export interface RecordingFigures {
  readonly format: 'fit' | 'tcx';
  readonly hoursOfRecording: number;
  readonly samples: number;
  readonly fileBytes: number;
  readonly iterations: number;
  readonly parseMsPerHour: number;
  readonly detectMsPerHour: number;
  readonly totalMsPerHour: number;
}

const HOUR: TraceSpec = {
  startedAt: '2026-03-02T09:00:00Z',
  restingHr: 70,
  laps: false,
  sport: 'running',
  subSport: 'treadmill',
  phases: fourByFourPhases({ hrMax: 190, intervals: 8 }),
  noise: {
    seed: 11,
    hrJitter: 3,
    spikeShare: 0.005,
    dropouts: [
      [900, 20],
      [2500, 10],
    ],
  },
};

export function measureRecording(iterations: number): RecordingFigures[] {
  const seconds = HOUR.phases.reduce((sum, phase) => sum + phase.seconds, 0);
  const hours = seconds / 3600;
  const fit = fitFile(HOUR);
  const tcx = new TextEncoder().encode(tcxFile(HOUR));
  const cases = [
    { format: 'fit' as const, bytes: fit, parse: (bytes: Uint8Array) => parseFit(bytes, DEFAULT_RECORDING_LIMITS) },
    { format: 'tcx' as const, bytes: tcx, parse: (bytes: Uint8Array) => parseTcx(bytes, DEFAULT_RECORDING_LIMITS) },
  ];
  return cases.map(({ format, bytes, parse }) => {
    const detect = (recording: Recording): number =>
      detectSessionStructure(recording.samples, recording.laps, {
        hrMaxBpm: 190,
        lookForIntervals: true,
        expectedIntervals: 4,
      }).intervals.length;
    const cpuMs = (work: () => unknown, count: number): number => {
      const started = process.cpuUsage();
      for (let index = 0; index < count; index += 1) work();
      const used = process.cpuUsage(started);
      return (used.user + used.system) / 1000 / count;
    };
    const parsed = parse(bytes);
    if (detect(parsed) !== 8) throw new Error(`${format}: the bench hour should hold 8 intervals`);
    cpuMs(() => detect(parse(bytes)), Math.min(3, iterations));
    const parseMs = cpuMs(() => parse(bytes), iterations);
    const detectMs = cpuMs(() => detect(parsed), iterations);
    return {
      format,
      hoursOfRecording: round(hours, 2),
      samples: parsed.samples.length,
      fileBytes: bytes.length,
      iterations,
      parseMsPerHour: round(parseMs / hours, 1),
      detectMsPerHour: round(detectMs / hours, 1),
      totalMsPerHour: round((parseMs + detectMs) / hours, 1),
    };
  });
}
