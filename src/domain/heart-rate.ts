import { invalid, ok, type Result } from './result.ts';

// HRmax, the 4x4 heart-rate zones in bpm, time in zone and the sanity flags a therapist reads.
//
// Rounding rule (one place, so every screen and document shows the same numbers):
// - an estimated HRmax is rounded half-up to whole bpm; zones are computed from that whole
//   number, so a reader can redo them by hand from the HRmax they are shown;
// - a zone's lower bound is rounded up and its upper bound down, so every whole bpm shown as
//   "in the zone" really is within the percentage band (85 % of 182 = 154.7 → 155;
//   95 % of 182 = 172.9 → 172);
// - a single target (the ~70 % active pause) is rounded half-up.

export const HUNT_HRMAX_ESTIMATE = {
  method: 'HRmax = 211 − 0.64 × age (HUNT)',
  interceptBpm: 211,
  bpmPerYear: 0.64,
  // "a standard error of 10.8 beats/min must be taken into account" (docs/reference/fitness.md §1).
  seeBpm: 10.8,
  n: 3320,
  citation:
    'Nes BM, Janszky I, Wisløff U, Støylen A, Karlsen T. Scand J Med Sci Sports 2013;23(6):697-704 ' +
    '(HUNT Fitness Study). doi:10.1111/j.1600-0838.2012.01445.x',
} as const;

/** docs/reference/fitness.md §4: intervals at 85–95 % of HRmax, active pauses at ~70 %. */
export const INTERVAL_ZONE_PERCENT = { low: 85, high: 95 } as const;
const ACTIVE_PAUSE_PERCENT = 70;

export type PercentBand = { readonly low: number; readonly high: number };

type MeasuredHrMax = { readonly source: 'measured'; readonly bpm: number };
export type EstimatedHrMax = {
  readonly source: 'estimated';
  /** Whole bpm, the value to show and to compute zones from. */
  readonly bpm: number;
  readonly unroundedBpm: number;
  readonly ageYears: number;
  readonly method: typeof HUNT_HRMAX_ESTIMATE.method;
  readonly citation: typeof HUNT_HRMAX_ESTIMATE.citation;
  readonly seeBpm: typeof HUNT_HRMAX_ESTIMATE.seeBpm;
};
export type HrMax = MeasuredHrMax | EstimatedHrMax;

export function estimateHrMax(ageYears: number): Result<EstimatedHrMax> {
  if (!Number.isFinite(ageYears) || ageYears < 0) return invalid('age must be a number of years, 0 or more');
  const unroundedBpm = HUNT_HRMAX_ESTIMATE.interceptBpm - HUNT_HRMAX_ESTIMATE.bpmPerYear * ageYears;
  return ok({
    source: 'estimated',
    bpm: roundHalfUp(unroundedBpm),
    unroundedBpm,
    ageYears,
    method: HUNT_HRMAX_ESTIMATE.method,
    citation: HUNT_HRMAX_ESTIMATE.citation,
    seeBpm: HUNT_HRMAX_ESTIMATE.seeBpm,
  });
}

export type HrMaxInput = { readonly measuredBpm?: number | undefined; readonly ageYears?: number | undefined };

/** A measured HRmax always wins over the estimate (docs/reference/fitness.md §1); the age is used only without one. */
export function resolveHrMax(input: HrMaxInput): Result<HrMax> {
  if (input.measuredBpm !== undefined) {
    if (!isPositive(input.measuredBpm)) return invalid('measured HRmax must be a positive number of beats per minute');
    return ok({ source: 'measured', bpm: roundHalfUp(input.measuredBpm) });
  }
  if (input.ageYears !== undefined) return estimateHrMax(input.ageYears);
  return invalid('HRmax needs either a measured HRmax or the age to estimate it from');
}

export type HeartRateZones = {
  readonly hrMaxBpm: number;
  readonly interval: {
    readonly lowPercent: number;
    readonly highPercent: number;
    readonly lowBpm: number;
    readonly highBpm: number;
  };
  readonly activePause: { readonly percent: number; readonly bpm: number };
};

/** Zones in whole bpm for an HRmax in whole bpm (see the rounding rule at the top). */
export function heartRateZones(hrMaxBpm: number, intervalPercent: PercentBand = INTERVAL_ZONE_PERCENT): HeartRateZones {
  const hrMax = roundHalfUp(hrMaxBpm);
  return {
    hrMaxBpm: hrMax,
    interval: {
      lowPercent: intervalPercent.low,
      highPercent: intervalPercent.high,
      lowBpm: Math.ceil((intervalPercent.low * hrMax) / 100),
      highBpm: Math.floor((intervalPercent.high * hrMax) / 100),
    },
    activePause: { percent: ACTIVE_PAUSE_PERCENT, bpm: roundHalfUp((ACTIVE_PAUSE_PERCENT * hrMax) / 100) },
  };
}

export function percentOfHrMax(bpm: number, hrMaxBpm: number): number {
  return (100 * bpm) / hrMaxBpm;
}

type HeartRateSample = {
  /** Seconds from the start of the interval. */
  readonly atSecond: number;
  readonly bpm: number;
};

/** What a clinic may send for one work interval; every field is optional. */
export type IntervalHeartRate = {
  readonly meanBpm?: number | undefined;
  readonly peakBpm?: number | undefined;
  /** Time in the 85–95 % zone as the device reported it; wins over samples. */
  readonly secondsInZone?: number | undefined;
  readonly samples?: readonly HeartRateSample[] | undefined;
  /** Length of the interval; defaults to the protocol's 4 minutes. */
  readonly durationSeconds?: number | undefined;
};

export type IntervalAssessment = {
  /** 1-based, as a therapist counts them. */
  readonly interval: number;
  readonly meanBpm: number | undefined;
  readonly meanPercentOfHrMax: number | undefined;
  readonly peakBpm: number | undefined;
  readonly secondsInZone: number | undefined;
  readonly timeInZoneFrom: 'reported' | 'samples' | undefined;
};

export type HeartRateFlag =
  | {
      readonly code: 'peak-above-hrmax';
      readonly peakBpm: number;
      readonly hrMaxBpm: number;
      readonly hrMaxSource: HrMax['source'];
      readonly intervals: readonly number[];
      readonly message: string;
    }
  | {
      readonly code: 'interval-below-zone';
      readonly interval: number;
      readonly meanBpm: number;
      readonly zoneLowBpm: number;
      /** false when even the peak stayed below 85 %; undefined when no peak is known. */
      readonly peakReachedZone: boolean | undefined;
      readonly message: string;
    };

export type SessionHeartRateAssessment = {
  readonly hrMax: HrMax;
  readonly zones: HeartRateZones;
  readonly intervals: readonly IntervalAssessment[];
  /** Total over the session; undefined unless every interval has time-in-zone data. */
  readonly secondsInZone: number | undefined;
  /** secondsInZone in minutes, one decimal (the Observation unit is min). */
  readonly minutesInZone: number | undefined;
  readonly intervalsWithoutTimeInZone: readonly number[];
  readonly flags: readonly HeartRateFlag[];
};

const PROTOCOL_INTERVAL_SECONDS = 4 * 60;

export function assessSessionHeartRate(
  hrMax: HrMax,
  intervals: readonly IntervalHeartRate[],
  intervalPercent: PercentBand = INTERVAL_ZONE_PERCENT,
): Result<SessionHeartRateAssessment> {
  const zones = heartRateZones(hrMax.bpm, intervalPercent);
  const assessed: IntervalAssessment[] = [];
  for (const [index, data] of intervals.entries()) {
    const result = assessInterval(index + 1, data, zones);
    if (!result.ok) return result;
    assessed.push(result.value);
  }

  const flags: HeartRateFlag[] = [];
  const above = assessed.filter((a) => a.peakBpm !== undefined && a.peakBpm > zones.hrMaxBpm);
  if (above.length > 0) {
    const peakBpm = Math.max(...above.map((a) => a.peakBpm ?? 0));
    flags.push({
      code: 'peak-above-hrmax',
      peakBpm,
      hrMaxBpm: zones.hrMaxBpm,
      hrMaxSource: hrMax.source,
      intervals: above.map((a) => a.interval),
      message:
        hrMax.source === 'estimated'
          ? `Peak heart rate ${peakBpm} is above the estimated HRmax ${zones.hrMaxBpm}: the estimate is probably too low, so the zones are too low as well. Consider a measured HRmax.`
          : `Peak heart rate ${peakBpm} is above the measured HRmax ${zones.hrMaxBpm}: the HRmax test was probably not maximal. Consider re-testing.`,
    });
  }
  for (const a of assessed) {
    if (a.meanBpm === undefined || 100 * a.meanBpm >= intervalPercent.low * zones.hrMaxBpm) continue;
    const peakReachedZone =
      a.peakBpm === undefined ? undefined : 100 * a.peakBpm >= intervalPercent.low * zones.hrMaxBpm;
    flags.push({
      code: 'interval-below-zone',
      interval: a.interval,
      meanBpm: a.meanBpm,
      zoneLowBpm: zones.interval.lowBpm,
      peakReachedZone,
      message:
        `Interval ${a.interval}: mean heart rate ${a.meanBpm} is below the zone (${intervalPercent.low} % of HRmax = ${zones.interval.lowBpm})` +
        (peakReachedZone === false ? '; the zone was never reached.' : '.'),
    });
  }

  const missing = assessed.filter((a) => a.secondsInZone === undefined).map((a) => a.interval);
  const secondsInZone = missing.length === 0 ? assessed.reduce((sum, a) => sum + (a.secondsInZone ?? 0), 0) : undefined;
  return ok({
    hrMax,
    zones,
    intervals: assessed,
    secondsInZone,
    minutesInZone: secondsInZone === undefined ? undefined : Math.round((secondsInZone / 60) * 10) / 10,
    intervalsWithoutTimeInZone: missing,
    flags,
  });
}

function assessInterval(interval: number, data: IntervalHeartRate, zones: HeartRateZones): Result<IntervalAssessment> {
  const where = `interval ${interval}`;
  for (const [name, value] of [
    ['mean heart rate', data.meanBpm],
    ['peak heart rate', data.peakBpm],
    ['duration', data.durationSeconds],
  ] as const) {
    if (value !== undefined && !isPositive(value)) return invalid(`${where}: ${name} must be a positive number`);
  }
  const durationSeconds = data.durationSeconds ?? PROTOCOL_INTERVAL_SECONDS;
  if (data.secondsInZone !== undefined && !(data.secondsInZone >= 0 && data.secondsInZone <= durationSeconds)) {
    return invalid(`${where}: time in zone must be between 0 and the interval's length`);
  }
  const samples = data.samples ?? [];
  for (const [i, s] of samples.entries()) {
    if (!isPositive(s.bpm)) return invalid(`${where}: every heart-rate sample must be a positive number`);
    const previous = samples[i - 1];
    if (
      !(Number.isFinite(s.atSecond) && s.atSecond >= 0) ||
      (previous !== undefined && s.atSecond <= previous.atSecond)
    ) {
      return invalid(`${where}: heart-rate samples must have increasing times from 0 seconds`);
    }
  }

  const hasSamples = samples.length > 0;
  // Devices sample at a steady rate, so a plain average of the samples is their mean.
  const meanBpm =
    data.meanBpm ?? (hasSamples ? samples.reduce((sum, s) => sum + s.bpm, 0) / samples.length : undefined);
  const peakBpm = data.peakBpm ?? (hasSamples ? Math.max(...samples.map((s) => s.bpm)) : undefined);
  const reported = data.secondsInZone;
  const secondsInZone =
    reported ?? (hasSamples ? secondsInZoneFromSamples(samples, durationSeconds, zones) : undefined);
  return ok({
    interval,
    meanBpm,
    meanPercentOfHrMax: meanBpm === undefined ? undefined : percentOfHrMax(meanBpm, zones.hrMaxBpm),
    peakBpm,
    secondsInZone,
    timeInZoneFrom: reported !== undefined ? 'reported' : hasSamples ? 'samples' : undefined,
  });
}

// Each sample holds until the next one, the last until the interval ends; time before the first
// sample is unknown and so not counted as in the zone. "In the zone" compares the exact
// percentage, which for whole-bpm samples is the same as lowBpm ≤ bpm ≤ highBpm.
function secondsInZoneFromSamples(
  samples: readonly HeartRateSample[],
  durationSeconds: number,
  zones: HeartRateZones,
): number {
  let total = 0;
  for (const [i, s] of samples.entries()) {
    const end = Math.min(samples[i + 1]?.atSecond ?? durationSeconds, durationSeconds);
    const inZone =
      100 * s.bpm >= zones.interval.lowPercent * zones.hrMaxBpm &&
      100 * s.bpm <= zones.interval.highPercent * zones.hrMaxBpm;
    if (inZone && end > s.atSecond) total += end - s.atSecond;
  }
  return total;
}

function isPositive(value: number): boolean {
  return Number.isFinite(value) && value > 0;
}

/** Half-up to whole numbers; Math.round already rounds .5 up for positive values. */
function roundHalfUp(value: number): number {
  return Math.round(value);
}
