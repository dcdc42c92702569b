/**
 * Synthetic pulse-watch recordings for the import tests: a session is described as phases (warm-up,
 * intervals, pauses, cool-down) with the heart rate each drives towards; the heart rate follows
 * with first-order kinetics (it rises and falls towards the target, as a real pulse does), at
 * 1 Hz, with optional noise, spikes and dropouts from a seeded generator. The truth — where each
 * interval starts and ends, its mean heart rate without noise — comes from the same description,
 * so the tests compare what hit-bridge finds with what was put in.
 *
 * FIT files are written with Garmin's FIT SDK encoder, TCX files as the schema's elements.
 */
import { seededRandom } from './seeded-random.ts';
import {
  Encoder,
  Profile,
  type FileIdMesg,
  type LapMesg,
  type Mesg,
  type RecordMesg,
  type SessionMesg,
  type UserProfileMesg,
  type DeviceInfoMesg,
} from '@garmin/fitsdk';

export type PhaseKind = 'warm-up' | 'interval' | 'pause' | 'cool-down';

export interface Phase {
  readonly kind: PhaseKind;
  readonly seconds: number;
  /** The heart rate this phase drives towards. */
  readonly targetHr: number;
  /** Metres per second (treadmill) or undefined. */
  readonly speed?: number;
  /** Watts (ergometer) or undefined. */
  readonly power?: number;
}

export interface Noise {
  readonly seed: number;
  /** Amplitude of uniform noise added to each reading, bpm. */
  readonly hrJitter: number;
  /** Share of readings replaced by a spike of ±(40–80) bpm. */
  readonly spikeShare: number;
  /** Gaps with no heart rate: [start second, length in seconds]. */
  readonly dropouts: readonly (readonly [number, number])[];
}

export interface TraceSpec {
  readonly startedAt: string;
  readonly restingHr: number;
  readonly phases: readonly Phase[];
  readonly noise?: Noise;
  /** Laps as the watch would write them: one per phase. */
  readonly laps: boolean;
  readonly sport: 'running' | 'cycling' | 'training';
  readonly subSport: 'treadmill' | 'indoorCycling' | 'strengthTraining' | 'generic';
}

export interface TraceSample {
  readonly t: number;
  readonly hr?: number;
  readonly speed?: number;
  readonly power?: number;
}

export interface TruthSegment {
  readonly startT: number;
  readonly endT: number;
  readonly meanHr: number;
}

export interface Truth {
  readonly intervals: readonly TruthSegment[];
  readonly activePauses: readonly TruthSegment[];
  readonly durationS: number;
}

const RISE_TAU_S = 25;
const FALL_TAU_S = 35;

/** The noise-free pulse, one value a second. */
export function cleanHeartRate(spec: TraceSpec): number[] {
  const values: number[] = [];
  let hr = spec.restingHr;
  for (const phase of spec.phases) {
    for (let second = 0; second < phase.seconds; second++) {
      values.push(hr);
      const tau = phase.targetHr > hr ? RISE_TAU_S : FALL_TAU_S;
      hr += (phase.targetHr - hr) * (1 - Math.exp(-1 / tau));
    }
  }
  return values;
}

export function traceSamples(spec: TraceSpec): TraceSample[] {
  const clean = cleanHeartRate(spec);
  const random = seededRandom(spec.noise?.seed ?? 1);
  const samples: TraceSample[] = [];
  let t = 0;
  for (const phase of spec.phases) {
    for (let second = 0; second < phase.seconds; second++, t++) {
      const noise = spec.noise;
      let hr: number | undefined = clean[t] ?? spec.restingHr;
      if (noise !== undefined) {
        hr += (random() * 2 - 1) * noise.hrJitter;
        if (random() < noise.spikeShare) hr += (random() < 0.5 ? -1 : 1) * (40 + random() * 40);
        if (noise.dropouts.some(([from, length]) => t >= from && t < from + length)) hr = undefined;
      }
      samples.push({
        t,
        ...(hr === undefined ? {} : { hr: Math.max(30, Math.min(250, Math.round(hr))) }),
        ...(phase.speed === undefined ? {} : { speed: phase.speed }),
        ...(phase.power === undefined ? {} : { power: phase.power }),
      });
    }
  }
  return samples;
}

export function truthOf(spec: TraceSpec): Truth {
  const clean = cleanHeartRate(spec);
  const segments: { kind: PhaseKind; startT: number; endT: number }[] = [];
  let t = 0;
  for (const phase of spec.phases) {
    segments.push({ kind: phase.kind, startT: t, endT: t + phase.seconds });
    t += phase.seconds;
  }
  const withMean = (segment: { startT: number; endT: number }): TruthSegment => ({
    startT: segment.startT,
    endT: segment.endT,
    meanHr:
      Math.round(
        (10 * clean.slice(segment.startT, segment.endT).reduce((a, b) => a + b, 0)) / (segment.endT - segment.startT),
      ) / 10,
  });
  const intervals = segments.filter((segment) => segment.kind === 'interval');
  const pauses = intervals.slice(1).map((next, index) => ({ startT: intervals[index]?.endT ?? 0, endT: next.startT }));
  return { intervals: intervals.map(withMean), activePauses: pauses.map(withMean), durationS: t };
}

export function fitFile(spec: TraceSpec): Uint8Array {
  const start = new Date(spec.startedAt);
  const at = (t: number): Date => new Date(start.getTime() + t * 1000);
  const samples = traceSamples(spec);
  const encoder = new Encoder();
  const write = (name: keyof typeof Profile.MesgNum, mesg: Mesg): void => {
    encoder.onMesg(mesgNum(name), mesg);
  };
  const fileId: FileIdMesg = {
    manufacturer: 'development',
    product: 1,
    timeCreated: start,
    type: 'activity',
    serialNumber: 4242,
  };
  write('FILE_ID', fileId);
  const deviceInfo: DeviceInfoMesg = { timestamp: start, manufacturer: 'development', product: 1 };
  write('DEVICE_INFO', deviceInfo);
  // What a real watch carries about its wearer; hit-bridge must never pass it on.
  const userProfile: UserProfileMesg = { friendlyName: 'Testbruker Syntetisk', weight: 81.5, age: 34 };
  write('USER_PROFILE', userProfile);
  for (const sample of samples) {
    const record: RecordMesg = {
      timestamp: at(sample.t),
      ...(sample.hr === undefined ? {} : { heartRate: sample.hr }),
      ...(sample.speed === undefined ? {} : { enhancedSpeed: sample.speed }),
      ...(sample.power === undefined ? {} : { power: sample.power }),
      // A synthetic GPS position (a treadmill at a clinic in Trondheim): it must be dropped.
      positionLat: 755_000_000,
      positionLong: 123_000_000,
    };
    write('RECORD', record);
  }
  if (spec.laps) {
    let t = 0;
    for (const phase of spec.phases) {
      const lap: LapMesg = {
        timestamp: at(t + phase.seconds),
        startTime: at(t),
        totalElapsedTime: phase.seconds,
        totalTimerTime: phase.seconds,
      };
      write('LAP', lap);
      t += phase.seconds;
    }
  }
  const total = samples.length;
  const hrs = samples.flatMap((sample) => (sample.hr === undefined ? [] : [sample.hr]));
  const session: SessionMesg = {
    timestamp: at(total),
    startTime: start,
    totalElapsedTime: total,
    totalTimerTime: total,
    sport: spec.sport,
    subSport: spec.subSport,
    avgHeartRate: Math.round(hrs.reduce((a, b) => a + b, 0) / Math.max(1, hrs.length)),
    maxHeartRate: Math.max(...hrs),
  };
  write('SESSION', session);
  return encoder.close();
}

export function tcxFile(spec: TraceSpec): string {
  const start = new Date(spec.startedAt);
  const iso = (t: number): string => new Date(start.getTime() + t * 1000).toISOString().replace('.000Z', 'Z');
  const samples = traceSamples(spec);
  const point = (sample: TraceSample): string =>
    [
      '<Trackpoint>',
      `<Time>${iso(sample.t)}</Time>`,
      '<Position><LatitudeDegrees>63.4305</LatitudeDegrees><LongitudeDegrees>10.3951</LongitudeDegrees></Position>',
      sample.hr === undefined ? '' : `<HeartRateBpm><Value>${sample.hr}</Value></HeartRateBpm>`,
      sample.speed === undefined && sample.power === undefined
        ? ''
        : `<Extensions><ns3:TPX>${sample.speed === undefined ? '' : `<ns3:Speed>${sample.speed}</ns3:Speed>`}${sample.power === undefined ? '' : `<ns3:Watts>${sample.power}</ns3:Watts>`}</ns3:TPX></Extensions>`,
      '</Trackpoint>',
    ].join('');
  const lapsOf = (): { startT: number; seconds: number }[] => {
    if (!spec.laps) return [{ startT: 0, seconds: samples.length }];
    let t = 0;
    return spec.phases.map((phase) => {
      const lap = { startT: t, seconds: phase.seconds };
      t += phase.seconds;
      return lap;
    });
  };
  const laps = lapsOf()
    .map(
      (lap) =>
        `<Lap StartTime="${iso(lap.startT)}"><TotalTimeSeconds>${lap.seconds}</TotalTimeSeconds><Intensity>Active</Intensity><TriggerMethod>Manual</TriggerMethod><Track>${samples
          .filter((sample) => sample.t >= lap.startT && sample.t < lap.startT + lap.seconds)
          .map(point)
          .join('')}</Track></Lap>`,
    )
    .join('');
  const sport = spec.sport === 'running' ? 'Running' : spec.sport === 'cycling' ? 'Biking' : 'Other';
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2" xmlns:ns3="http://www.garmin.com/xmlschemas/ActivityExtension/v2">',
    `<Activities><Activity Sport="${sport}"><Id>${iso(0)}</Id>${laps}`,
    '<Creator><Name>Synthetic Watch</Name></Creator></Activity></Activities>',
    '<Author><Name>Testbruker Syntetisk</Name></Author>',
    '</TrainingCenterDatabase>',
  ].join('\n');
}

/** A 4x4 as the protocol has it: 10 min warm-up, 4 × (4 min interval, 3 min pause), the last pause part of a 5 min cool-down. */
export function fourByFourPhases(options: {
  hrMax: number;
  intervals?: number;
  intervalPercent?: number;
  speeds?: { readonly warmUp: number; readonly work: number; readonly pause: number };
  power?: { readonly warmUp: number; readonly work: number; readonly pause: number };
  intervalSeconds?: readonly number[];
}): Phase[] {
  const count = options.intervals ?? 4;
  const at = (percent: number): number => Math.round((percent * options.hrMax) / 100);
  const effort = (which: 'warmUp' | 'work' | 'pause'): { speed?: number; power?: number } => ({
    ...(options.speeds === undefined ? {} : { speed: options.speeds[which] }),
    ...(options.power === undefined ? {} : { power: options.power[which] }),
  });
  const phases: Phase[] = [{ kind: 'warm-up', seconds: 600, targetHr: at(65), ...effort('warmUp') }];
  for (let index = 0; index < count; index++) {
    phases.push({
      kind: 'interval',
      seconds: options.intervalSeconds?.[index] ?? 240,
      targetHr: at(options.intervalPercent ?? 92),
      ...effort('work'),
    });
    if (index < count - 1) phases.push({ kind: 'pause', seconds: 180, targetHr: at(70), ...effort('pause') });
  }
  phases.push({ kind: 'cool-down', seconds: 300, targetHr: at(60), ...effort('warmUp') });
  return phases;
}

function mesgNum(name: keyof typeof Profile.MesgNum): number {
  const value = Profile.MesgNum[name];
  if (value === undefined) throw new Error(`the FIT SDK has no message ${name}`);
  return value;
}
