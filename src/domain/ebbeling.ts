import { invalid, ok, type Result } from './result.ts';
import type { Sex } from './sex.ts';

// Ebbeling single-stage treadmill walking test (Ebbeling et al., MSSE 1991;23(8):966-73,
// PMID 1956273; docs/reference/fitness.md §6):
//   VO2max = 15.1 + 21.8·speed − 0.327·HR − 0.263·speed·age + 0.00504·HR·age + 5.98·gender
// speed in mph, HR in bpm (last 15 s of the 4-min stage at 5 % grade), age in years,
// gender 0 = female, 1 = male. Derived on 117 adults aged 20–59 walking at 2.0–4.5 mph,
// R² 0.86, SEE 4.85 mL/kg/min. Outside those conditions the estimate is still returned, with
// warnings, because the therapist decides whether to use it.

export const EBBELING = {
  citation: 'Ebbeling et al., MSSE 1991;23(8):966-73 (PMID 1956273); protocol per PhenX 150102',
  seeMlKgMin: 4.85,
  speedMph: { min: 2.0, max: 4.5 },
  ageYears: { min: 20, max: 59 },
  // PhenX protocol: the warm-up speed is chosen so the heart rate is 50–70 % of age-predicted
  // HRmax, and PhenX predicts HRmax as 220 − age. That is the test protocol's own convention, so
  // it is used for this check only; everywhere else the project uses the HUNT estimate.
  warmUpPercentOfPredictedHrMax: { low: 50, high: 70 },
  protocolPredictedHrMaxIntercept: 220,
  gradePercent: 5,
} as const;

// 1 mph = 1.609344 km/h exactly (definition of the international mile).
export const KM_PER_MILE = 1.609344;

export type Speed = { readonly value: number; readonly unit: 'km/h' | 'mph' };

export type EbbelingInput = {
  readonly sex: Sex;
  readonly ageYears: number;
  /** Mean over the last 15 s of the 5 %-grade stage. */
  readonly heartRateBpm: number;
  readonly speed: Speed;
  /** Heart rate at the end of the 0 % warm-up, if recorded; used only for the protocol check. */
  readonly warmUpHeartRateBpm?: number | undefined;
};

type EbbelingWarning = {
  readonly code: 'speed-outside-validated-range' | 'age-outside-validated-range' | 'warm-up-heart-rate-outside-target';
  readonly message: string;
};

export type EbbelingEstimate = {
  /** One decimal, as VO2max is reported in the HUNT3 tables. */
  readonly vo2maxMlKgMin: number;
  readonly unroundedMlKgMin: number;
  readonly speedMph: number;
  readonly seeMlKgMin: number;
  readonly warnings: readonly EbbelingWarning[];
  /** Standing limitations of the method, to show with every result. */
  readonly caveats: readonly string[];
  readonly source: string;
};

const CAVEATS = ['The test may underestimate fitness in highly trained people (PhenX).'] as const;

export function toMph(speed: Speed): number {
  return speed.unit === 'mph' ? speed.value : speed.value / KM_PER_MILE;
}

export function ebbelingVo2max(input: EbbelingInput): Result<EbbelingEstimate> {
  if (!isPositive(input.speed.value)) return invalid('speed must be a positive number');
  if (!isPositive(input.heartRateBpm)) return invalid('heart rate must be a positive number of beats per minute');
  if (!isPositive(input.ageYears)) return invalid('age must be a positive number of years');
  if (input.warmUpHeartRateBpm !== undefined && !isPositive(input.warmUpHeartRateBpm)) {
    return invalid('warm-up heart rate must be a positive number of beats per minute');
  }
  const speed = toMph(input.speed);
  const hr = input.heartRateBpm;
  const age = input.ageYears;
  const gender = input.sex === 'male' ? 1 : 0;
  const unrounded = 15.1 + 21.8 * speed - 0.327 * hr - 0.263 * speed * age + 0.00504 * hr * age + 5.98 * gender;
  if (unrounded <= 0) return invalid('these speed, heart rate and age give no meaningful VO2max; check the values');

  const warnings: EbbelingWarning[] = [];
  const { speedMph, ageYears } = EBBELING;
  if (speed < speedMph.min || speed > speedMph.max) {
    warnings.push({
      code: 'speed-outside-validated-range',
      message: `The speed (${speed.toFixed(2)} mph, ${(speed * KM_PER_MILE).toFixed(1)} km/h) is outside the ${speedMph.min}–${speedMph.max} mph the equation was derived on.`,
    });
  }
  if (age < ageYears.min || age > ageYears.max) {
    warnings.push({
      code: 'age-outside-validated-range',
      message: `The age (${age}) is outside the ${ageYears.min}–${ageYears.max} years the equation was derived on.`,
    });
  }
  if (input.warmUpHeartRateBpm !== undefined) {
    const predicted = EBBELING.protocolPredictedHrMaxIntercept - age;
    const { low, high } = EBBELING.warmUpPercentOfPredictedHrMax;
    const percent = (100 * input.warmUpHeartRateBpm) / predicted;
    if (percent < low || percent > high) {
      warnings.push({
        code: 'warm-up-heart-rate-outside-target',
        message: `The warm-up heart rate is ${Math.round(percent)} % of the protocol's age-predicted HRmax (220 − age = ${predicted}); the protocol picks a speed giving ${low}–${high} %.`,
      });
    }
  }

  return ok({
    vo2maxMlKgMin: Math.round(unrounded * 10) / 10,
    unroundedMlKgMin: unrounded,
    speedMph: speed,
    seeMlKgMin: EBBELING.seeMlKgMin,
    warnings,
    caveats: CAVEATS,
    source: EBBELING.citation,
  });
}

function isPositive(value: number): boolean {
  return Number.isFinite(value) && value > 0;
}
