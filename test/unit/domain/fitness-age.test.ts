import {
  fitnessAge,
  HUNT3_VO2MAX_NORMS,
  percentOfExpectedVo2max,
  type FitnessAge,
  type Vo2maxNorms,
} from '../../../src/domain/fitness-age.ts';
import type { Result } from '../../../src/domain/result.ts';
import type { Sex } from '../../../src/domain/sex.ts';

function value<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`expected ok, got: ${result.reason}`);
  return result.value;
}
const age = (sex: Sex, vo2maxMlKgMin: number): FitnessAge => value(fitnessAge({ sex, vo2maxMlKgMin }));

describe('fitnessAge', () => {
  // HUNT3 (Loe 2013) means, placed at the decade midpoints; the 70+ band at 75.
  test.each<[Sex, number, number]>([
    ['male', 54.4, 25],
    ['male', 49.1, 35],
    ['male', 47.2, 45],
    ['male', 42.6, 55],
    ['male', 39.2, 65],
    ['male', 35.3, 75],
    ['female', 43.0, 25],
    ['female', 40.0, 35],
    ['female', 38.4, 45],
    ['female', 34.4, 55],
    ['female', 31.1, 65],
    ['female', 28.3, 75],
  ])('gives a %s whose VO2max equals the decade mean %f the midpoint age %i', (sex, vo2, expected) => {
    expect(age(sex, vo2).years).toBe(expected);
  });

  test('interpolates linearly between midpoints', () => {
    expect(age('male', (49.1 + 47.2) / 2).years).toBeCloseTo(40, 10);
    expect(age('female', (38.4 + 34.4) / 2).years).toBeCloseTo(50, 10);
    // A quarter of the way from 54.4 to 49.1: 54.4 − 0.25 × 5.3 = 53.075 → 27.5.
    expect(age('male', 53.075).years).toBeCloseTo(27.5, 10);
  });

  test('extends the 25–35 line below 25 and rounds to whole years for display', () => {
    // 0.53 mL/kg/min per year between 25 and 35; 56.0 is 1.6 above the 25 mean: 25 − 1.6 / 0.53 = 21.98.
    const result = age('male', 56.0);
    expect(result.years).toBeCloseTo(21.981, 3);
    expect(result.roundedYears).toBe(22);
    expect(result.clampedAt).toBeUndefined();
  });

  test('extends the 65–75 line above 75', () => {
    // Men: 0.39 per year; 75 + (35.3 − 30.0) / 0.39 = 88.59. Women: 0.28 per year; 75 + (28.3 − 25.0) / 0.28 = 86.79.
    expect(age('male', 30.0).years).toBeCloseTo(88.59, 2);
    expect(age('female', 25.0).years).toBeCloseTo(86.79, 2);
  });

  test('clamps to 20 and to 90 and says so', () => {
    expect(age('male', 60)).toMatchObject({ years: 20, roundedYears: 20, clampedAt: 20 });
    expect(age('male', 25)).toMatchObject({ years: 90, roundedYears: 90, clampedAt: 90 });
    expect(age('female', 70)).toMatchObject({ years: 20, clampedAt: 20 });
    expect(age('female', 10)).toMatchObject({ years: 90, clampedAt: 90 });
  });

  test('labels the result an estimate and names its method and source', () => {
    expect(age('female', 38.4)).toMatchObject({
      label: 'estimate',
      method: expect.stringContaining('linear between decade midpoints') as unknown,
      source: expect.stringContaining('e64319') as unknown,
    });
  });

  test('gets younger as VO2max rises', () => {
    let previous = Infinity;
    for (let vo2 = 20; vo2 <= 60; vo2 += 0.5) {
      const years = age('male', vo2).years;
      expect(years).toBeLessThanOrEqual(previous);
      previous = years;
    }
  });

  test('uses the norms it is given, since most HUNT3 rows are unconfirmed', () => {
    const norms: Vo2maxNorms = {
      male: [
        { ageBand: '20–29', fromAge: 20, toAge: 29, midpointAge: 25, meanMlKgMin: 50, sdMlKgMin: 8, confirmed: false },
        {
          ageBand: '30+',
          fromAge: 30,
          toAge: undefined,
          midpointAge: 35,
          meanMlKgMin: 40,
          sdMlKgMin: 8,
          confirmed: false,
        },
      ],
      female: HUNT3_VO2MAX_NORMS.female,
    };
    expect(value(fitnessAge({ sex: 'male', vo2maxMlKgMin: 45 }, norms)).years).toBe(30);
  });

  test('rejects a VO2max that is not a positive number', () => {
    expect(fitnessAge({ sex: 'male', vo2maxMlKgMin: 0 }).ok).toBe(false);
    expect(fitnessAge({ sex: 'female', vo2maxMlKgMin: Number.NaN }).ok).toBe(false);
  });

  test('marks only the 20–29 row as confirmed from the paper', () => {
    expect(HUNT3_VO2MAX_NORMS.male.filter((n) => n.confirmed).map((n) => n.ageBand)).toEqual(['20–29']);
    expect(HUNT3_VO2MAX_NORMS.female.filter((n) => n.confirmed).map((n) => n.ageBand)).toEqual(['20–29']);
  });
});

describe('percentOfExpectedVo2max', () => {
  test('gives 100 % for the mean of the person’s decade', () => {
    expect(value(percentOfExpectedVo2max({ sex: 'male', ageYears: 45, vo2maxMlKgMin: 47.2 }))).toMatchObject({
      percent: 100,
      roundedPercent: 100,
      expectedMlKgMin: 47.2,
      ageBand: '40–49',
      expectedIsConfirmed: false,
    });
  });

  test('uses the decade table as given, so 29 and 30 are compared with different means', () => {
    expect(value(percentOfExpectedVo2max({ sex: 'female', ageYears: 29, vo2maxMlKgMin: 34.4 })).roundedPercent).toBe(
      80,
    ); // 34.4 / 43.0
    expect(value(percentOfExpectedVo2max({ sex: 'female', ageYears: 30, vo2maxMlKgMin: 34.4 })).roundedPercent).toBe(
      86,
    ); // 34.4 / 40.0
  });

  test('places 70 and over in the 70+ band and warns beyond the sample’s 90 years', () => {
    expect(value(percentOfExpectedVo2max({ sex: 'female', ageYears: 72, vo2maxMlKgMin: 28.3 }))).toMatchObject({
      percent: 100,
      ageBand: '70+',
      warnings: [],
    });
    expect(value(percentOfExpectedVo2max({ sex: 'male', ageYears: 93, vo2maxMlKgMin: 30 })).warnings).toHaveLength(1);
  });

  test('rejects ages below 20, which the HUNT3 norms do not cover', () => {
    expect(percentOfExpectedVo2max({ sex: 'male', ageYears: 19, vo2maxMlKgMin: 50 })).toEqual({
      ok: false,
      reason: 'the HUNT3 VO2max norms cover ages 20 to 90 only',
    });
  });
});
