/**
 * The recordings the import is tested on, each a description a person can read: what kind of
 * session, which watch features (laps, speed, power), how noisy. Truth and files are made from
 * these by test/support/recordings.ts.
 */
import { fourByFourPhases, type TraceSpec } from './recordings.ts';

export const HR_MAX = 190;

const treadmill = {
  startedAt: '2026-03-02T09:00:00Z',
  restingHr: 70,
  sport: 'running',
  subSport: 'treadmill',
} as const;
const treadmillSpeeds = { warmUp: 1.3, work: 1.7, pause: 1.1 } as const;

export interface RecordingCase {
  readonly spec: TraceSpec;
  readonly modality: 'treadmill' | 'cycle' | 'strength';
}

export const RECORDING_CASES: Readonly<Record<string, RecordingCase>> = {
  'treadmill-4x4-with-laps': {
    modality: 'treadmill',
    spec: { ...treadmill, laps: true, phases: fourByFourPhases({ hrMax: HR_MAX, speeds: treadmillSpeeds }) },
  },
  'treadmill-4x4-without-laps': {
    modality: 'treadmill',
    spec: { ...treadmill, laps: false, phases: fourByFourPhases({ hrMax: HR_MAX }) },
  },
  'treadmill-4x4-noisy': {
    modality: 'treadmill',
    spec: {
      ...treadmill,
      laps: false,
      phases: fourByFourPhases({ hrMax: HR_MAX }),
      noise: {
        seed: 7,
        hrJitter: 3,
        spikeShare: 0.01,
        dropouts: [
          [700, 20],
          [1400, 15],
          [2000, 25],
        ],
      },
    },
  },
  'treadmill-three-intervals': {
    modality: 'treadmill',
    spec: { ...treadmill, laps: false, phases: fourByFourPhases({ hrMax: HR_MAX, intervals: 3 }) },
  },
  'strength-session': {
    modality: 'strength',
    spec: {
      ...treadmill,
      sport: 'training',
      subSport: 'strengthTraining',
      laps: false,
      // Four sets of about 40 s with two-minute rests: too short to be intervals.
      phases: [
        { kind: 'warm-up', seconds: 480, targetHr: 110 },
        ...[1, 2, 3, 4].flatMap((set) => [
          { kind: 'cool-down' as const, seconds: 40, targetHr: 150 + set },
          { kind: 'cool-down' as const, seconds: 120, targetHr: 105 },
        ]),
      ],
    },
  },
  'cycle-4x4-with-power': {
    modality: 'cycle',
    spec: {
      ...treadmill,
      sport: 'cycling',
      subSport: 'indoorCycling',
      laps: false,
      phases: fourByFourPhases({ hrMax: HR_MAX, power: { warmUp: 90, work: 210, pause: 70 } }),
    },
  },
};
