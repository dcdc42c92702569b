import { heartRateZones, INTERVAL_ZONE_PERCENT, type HeartRateZones, type PercentBand } from './heart-rate.ts';
import { invalid, ok, type Result } from './result.ts';

// The 4x4 high-intensity interval protocol and the 4x4 strength protocol as data, plus a
// minute-by-minute plan with bpm targets for one session. Facts and sources:
// docs/reference/fitness.md §4 (protocol) and §5 (the St. Olavs study dose).

export const FOUR_BY_FOUR = {
  // "~10 min"; the sources in docs/reference/fitness.md §4 give 7–15 min.
  warmUpMin: 10,
  warmUpRangeMin: { low: 7, high: 15 },
  intervals: 4,
  intervalMin: 4,
  intervalPercentHrMax: INTERVAL_ZONE_PERCENT,
  // Nettavisen: 3 min; St. Olavs says 2–3 min of lower intensity.
  activePauseMin: 3,
  activePausePercentHrMax: 70,
  coolDownMin: 5,
  // "about 35 effective minutes" = 10 warm-up + 4 × 4 + 3 × 3 pauses; that count is why the
  // plan puts pauses only between intervals (the 4th interval runs into the cool-down).
  effectiveMin: 35,
  // Reach the zone within 1–2 min on the first interval, ~1 min on the next ones.
  reachZoneWithinMin: { firstInterval: 2, laterIntervals: 1 },
  // Read the heart rate in minute 3 of each interval (docs/reference/fitness.md §4).
  readHeartRateInIntervalMinute: 3,
  // Uphill: at least 5 % incline on a treadmill.
  treadmillMinInclinePercent: 5,
  sessionsPerWeek: { low: 2, high: 3 },
  // The study dose (Flemmen 2014, St. Olavs RCT): 3 a week for 8 weeks.
  programme: { sessionsPerWeek: 3, weeks: 8 },
  fitnessTestEveryMonths: 3,
} as const;

/**
 * The St. Olavs RCT (Flemmen, Unhjem, Wang 2014, BioMed Res Int 2014:616935) trained at
 * 90–95 % HRmax rather than the general 85–95 %; offered for plans that follow the study.
 */
export const FLEMMEN_2014_INTERVAL_PERCENT_HRMAX = { low: 90, high: 95 } as const;

/** 4 sets × 4 repetitions at 85–90 % of 1RM, e.g. leg press or squat (docs/reference/fitness.md §4; UNCONFIRMED against a primary text). */
export const STRENGTH_PROTOCOL = {
  sets: 4,
  reps: 4,
  percentOneRm: { low: 85, high: 90 },
  exampleExercises: ['leg press', 'squat'],
} as const;

export type StrengthLoad = {
  readonly sets: number;
  readonly reps: number;
  /** 0.1 kg; rounding to the plates a gym has is left to the therapist. */
  readonly lowKg: number;
  readonly highKg: number;
};

export function strengthLoad(oneRmKg: number): Result<StrengthLoad> {
  if (!(Number.isFinite(oneRmKg) && oneRmKg > 0)) return invalid('1RM must be a positive number of kilograms');
  const { low, high } = STRENGTH_PROTOCOL.percentOneRm;
  return ok({
    sets: STRENGTH_PROTOCOL.sets,
    reps: STRENGTH_PROTOCOL.reps,
    lowKg: Math.round((low * oneRmKg) / 10) / 10,
    highKg: Math.round((high * oneRmKg) / 10) / 10,
  });
}

type SessionPhase = 'warm-up' | 'interval' | 'active-pause' | 'cool-down';

type HeartRateTarget =
  | {
      readonly kind: 'zone';
      readonly lowBpm: number;
      readonly highBpm: number;
      readonly lowPercent: number;
      readonly highPercent: number;
    }
  | { readonly kind: 'about'; readonly bpm: number; readonly percent: number }
  // The reference gives no heart-rate target for warm-up and cool-down.
  | { readonly kind: 'none' };

export type PlanSegment = {
  readonly phase: SessionPhase;
  /** 1–4 for intervals, and for a pause the interval it follows; undefined otherwise. */
  readonly intervalNumber: number | undefined;
  /** Minutes from the start of the session. */
  readonly startsAtMin: number;
  readonly durationMin: number;
  readonly target: HeartRateTarget;
};

export type FourByFourPlan = {
  readonly zones: HeartRateZones;
  readonly segments: readonly PlanSegment[];
  readonly totalMin: number;
  /** Everything before the cool-down. */
  readonly effectiveMin: number;
};

export type FourByFourOptions = {
  readonly warmUpMin?: number;
  readonly activePauseMin?: number;
  readonly coolDownMin?: number;
  readonly intervalPercent?: PercentBand;
  /** Default false: pauses only between intervals (see FOUR_BY_FOUR.effectiveMin). */
  readonly pauseAfterLastInterval?: boolean;
};

export function planFourByFourSession(hrMaxBpm: number, options: FourByFourOptions = {}): Result<FourByFourPlan> {
  if (!(Number.isFinite(hrMaxBpm) && hrMaxBpm > 0))
    return invalid('HRmax must be a positive number of beats per minute');
  const {
    warmUpMin = FOUR_BY_FOUR.warmUpMin,
    activePauseMin = FOUR_BY_FOUR.activePauseMin,
    coolDownMin = FOUR_BY_FOUR.coolDownMin,
    intervalPercent = FOUR_BY_FOUR.intervalPercentHrMax,
    pauseAfterLastInterval = false,
  } = options;
  for (const [name, value] of [
    ['warm-up', warmUpMin],
    ['active pause', activePauseMin],
    ['cool-down', coolDownMin],
  ] as const) {
    if (!Number.isInteger(value) || value < 0) return invalid(`${name} must be a whole number of minutes, 0 or more`);
  }
  if (!(intervalPercent.low > 0 && intervalPercent.low <= intervalPercent.high && intervalPercent.high <= 100)) {
    return invalid('the interval zone must be a percentage band within 0–100 % of HRmax');
  }

  const zones = heartRateZones(hrMaxBpm, intervalPercent);
  const zoneTarget: HeartRateTarget = {
    kind: 'zone',
    lowBpm: zones.interval.lowBpm,
    highBpm: zones.interval.highBpm,
    lowPercent: zones.interval.lowPercent,
    highPercent: zones.interval.highPercent,
  };
  const pauseTarget: HeartRateTarget = {
    kind: 'about',
    bpm: zones.activePause.bpm,
    percent: zones.activePause.percent,
  };
  const none: HeartRateTarget = { kind: 'none' };

  const segments: PlanSegment[] = [];
  let at = 0;
  const add = (
    phase: SessionPhase,
    intervalNumber: number | undefined,
    durationMin: number,
    target: HeartRateTarget,
  ) => {
    if (durationMin === 0) return;
    segments.push({ phase, intervalNumber, startsAtMin: at, durationMin, target });
    at += durationMin;
  };
  add('warm-up', undefined, warmUpMin, none);
  for (let n = 1; n <= FOUR_BY_FOUR.intervals; n += 1) {
    add('interval', n, FOUR_BY_FOUR.intervalMin, zoneTarget);
    if (n < FOUR_BY_FOUR.intervals || pauseAfterLastInterval) add('active-pause', n, activePauseMin, pauseTarget);
  }
  const effectiveMin = at;
  add('cool-down', undefined, coolDownMin, none);

  return ok({ zones, segments, totalMin: at, effectiveMin });
}
