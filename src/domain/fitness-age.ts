import { invalid, ok, type Result } from './result.ts';
import type { Sex } from './sex.ts';

// Fitness age (kondisjonsalder) and VO2max relative to the age/sex mean, from the HUNT3 Fitness
// Study VO2max means (Loe, Rognmo, Saltin, Wisløff 2013, PLoS ONE 8(5):e64319, Table 2).
// Only the 20–29 row is confirmed from the paper; the other rows agree across three
// independent secondary sources and with NTNU CERG's rounded figures, and are UNCONFIRMED
// (docs/reference/fitness.md §2). They are therefore a parameter, not baked into the maths.
//
// NTNU's own fitness-age algorithm is unpublished (UNCONFIRMED). Ours (docs/reference/fitness.md §3): the
// age at which the sex-specific mean equals the person's VO2max, by linear interpolation
// between decade midpoints (25, 35, …, 75), clamped to 20–90, labelled as an estimate. Beyond
// the first and last midpoints the nearest segment's line is extended (25→35 below 25, 65→75
// above 75) and the result clamped; without that extension the 20–90 clamp could never apply.

type Vo2maxNorm = {
  readonly ageBand: string;
  readonly fromAge: number;
  /** Last age in the band; undefined for the open-ended 70+ band. */
  readonly toAge: number | undefined;
  /** The age the band's mean is placed at for interpolation (the 70+ band at 75). */
  readonly midpointAge: number;
  readonly meanMlKgMin: number;
  readonly sdMlKgMin: number;
  /** true only where the value was read in the primary source. */
  readonly confirmed: boolean;
};

export type Vo2maxNorms = Readonly<Record<Sex, readonly Vo2maxNorm[]>>;

const band = (
  fromAge: number,
  toAge: number | undefined,
  meanMlKgMin: number,
  sdMlKgMin: number,
  confirmed = false,
): Vo2maxNorm => ({
  ageBand: toAge === undefined ? `${fromAge}+` : `${fromAge}–${toAge}`,
  fromAge,
  toAge,
  midpointAge: fromAge + 5,
  meanMlKgMin,
  sdMlKgMin,
  confirmed,
});

const HUNT3_VO2MAX_SOURCE =
  'Loe, Rognmo, Saltin, Wisløff 2013, PLoS ONE 8(5):e64319, doi:10.1371/journal.pone.0064319 (HUNT3 Fitness Study), Table 2';

/** mL/kg/min, mean ± SD by decade (docs/reference/fitness.md §2). */
export const HUNT3_VO2MAX_NORMS: Vo2maxNorms = {
  male: [
    band(20, 29, 54.4, 8.4, true),
    // One secondary copy gives this SD as 7.7 (docs/reference/fitness.md §2); SDs are not used in any calculation.
    band(30, 39, 49.1, 7.5),
    band(40, 49, 47.2, 7.7),
    band(50, 59, 42.6, 7.4),
    band(60, 69, 39.2, 6.7),
    // Whether the paper splits 70–79 and 80–89 is UNCONFIRMED; treated as one 70+ band.
    band(70, undefined, 35.3, 6.5),
  ],
  female: [
    band(20, 29, 43.0, 7.7, true),
    band(30, 39, 40.0, 6.8),
    band(40, 49, 38.4, 6.9),
    band(50, 59, 34.4, 5.7),
    band(60, 69, 31.1, 5.1),
    band(70, undefined, 28.3, 5.2),
  ],
};

const FITNESS_AGE_LIMITS = { minYears: 20, maxYears: 90 } as const;

export type FitnessAge = {
  /** Unrounded, for calculation; show roundedYears. */
  readonly years: number;
  readonly roundedYears: number;
  /** Set when the line gave an age outside 20–90 and it was clamped. */
  readonly clampedAt: 20 | 90 | undefined;
  readonly label: 'estimate';
  readonly method: string;
  readonly source: string;
};

const FITNESS_AGE_METHOD =
  'age at which the HUNT3 sex-specific mean VO2max equals the given VO2max; linear between decade midpoints ' +
  '25–75, extended beyond them, clamped to 20–90 (our method; NTNU’s is unpublished)';

export function fitnessAge(
  input: { readonly sex: Sex; readonly vo2maxMlKgMin: number },
  norms: Vo2maxNorms = HUNT3_VO2MAX_NORMS,
): Result<FitnessAge> {
  if (!(Number.isFinite(input.vo2maxMlKgMin) && input.vo2maxMlKgMin > 0)) {
    return invalid('VO2max must be a positive number of mL/kg/min');
  }
  const points = norms[input.sex];
  if (points.length < 2) return invalid('the VO2max norms need at least two age bands');
  const vo2 = input.vo2maxMlKgMin;
  // Means fall with age, so find the segment whose means bracket vo2; outside the table use the
  // end segments' lines.
  let segment = 0;
  while (segment < points.length - 2 && vo2 < (points[segment + 1]?.meanMlKgMin ?? -Infinity)) segment += 1;
  const a = points[segment];
  const b = points[segment + 1];
  if (a === undefined || b === undefined || a.meanMlKgMin === b.meanMlKgMin) {
    return invalid('the VO2max norms must fall from one age band to the next');
  }
  // As a fraction of the segment first, so a VO2max equal to a band's mean gives its midpoint exactly.
  const fraction = (a.meanMlKgMin - vo2) / (a.meanMlKgMin - b.meanMlKgMin);
  const unclamped = a.midpointAge + fraction * (b.midpointAge - a.midpointAge);
  const { minYears, maxYears } = FITNESS_AGE_LIMITS;
  const years = Math.min(maxYears, Math.max(minYears, unclamped));
  return ok({
    years,
    roundedYears: Math.round(years),
    clampedAt: unclamped < minYears ? minYears : unclamped > maxYears ? maxYears : undefined,
    label: 'estimate',
    method: FITNESS_AGE_METHOD,
    source: HUNT3_VO2MAX_SOURCE,
  });
}

export type Vo2maxVersusExpected = {
  /** VO2max as a percentage of the mean of the person's sex and age band, unrounded. */
  readonly percent: number;
  readonly roundedPercent: number;
  readonly expectedMlKgMin: number;
  readonly ageBand: string;
  readonly expectedIsConfirmed: boolean;
  readonly warnings: readonly string[];
  readonly source: string;
};

/**
 * VO2max as a percentage of the HUNT3 mean for the person's sex and decade. The expected value
 * is the decade's mean as tabulated, not the interpolated fitness-age line: the reference gives
 * decade means, and nothing there says to interpolate for this (decision).
 */
export function percentOfExpectedVo2max(
  input: { readonly sex: Sex; readonly ageYears: number; readonly vo2maxMlKgMin: number },
  norms: Vo2maxNorms = HUNT3_VO2MAX_NORMS,
): Result<Vo2maxVersusExpected> {
  if (!(Number.isFinite(input.vo2maxMlKgMin) && input.vo2maxMlKgMin > 0)) {
    return invalid('VO2max must be a positive number of mL/kg/min');
  }
  if (!Number.isFinite(input.ageYears)) return invalid('age must be a number of years');
  const bandForAge = norms[input.sex].find(
    (n) => input.ageYears >= n.fromAge && (n.toAge === undefined || input.ageYears < n.toAge + 1),
  );
  if (bandForAge === undefined) return invalid('the HUNT3 VO2max norms cover ages 20 to 90 only');
  const warnings =
    input.ageYears > FITNESS_AGE_LIMITS.maxYears
      ? ['the HUNT3 sample was aged 20–90; the 70+ mean is used beyond that']
      : [];
  const percent = (100 * input.vo2maxMlKgMin) / bandForAge.meanMlKgMin;
  return ok({
    percent,
    roundedPercent: Math.round(percent),
    expectedMlKgMin: bandForAge.meanMlKgMin,
    ageBand: bandForAge.ageBand,
    expectedIsConfirmed: bandForAge.confirmed,
    warnings,
    source: HUNT3_VO2MAX_SOURCE,
  });
}
