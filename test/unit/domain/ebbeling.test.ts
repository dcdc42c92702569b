import { ebbelingVo2max, toMph, type EbbelingInput } from '../../../src/domain/ebbeling.ts';

const base: EbbelingInput = { sex: 'male', ageYears: 40, heartRateBpm: 140, speed: { value: 3.5, unit: 'mph' } };

function estimate(input: EbbelingInput) {
  const result = ebbelingVo2max(input);
  if (!result.ok) throw new Error(result.reason);
  return result.value;
}

describe('ebbelingVo2max', () => {
  test('computes a man of 40 walking 3.5 mph at 140 bpm by hand: 43.0 mL/kg/min', () => {
    // 15.1 + 21.8·3.5 − 0.327·140 − 0.263·3.5·40 + 0.00504·140·40 + 5.98·1
    // = 15.1 + 76.3 − 45.78 − 36.82 + 28.224 + 5.98 = 43.004
    const result = estimate(base);
    expect(result.unroundedMlKgMin).toBeCloseTo(43.004, 10);
    expect(result.vo2maxMlKgMin).toBe(43.0);
    expect(result.warnings).toEqual([]);
    expect(result.seeMlKgMin).toBe(4.85);
  });

  test('converts km/h to mph (1 mph = 1.609344 km/h) and drops the gender term for a woman', () => {
    // 5.0 km/h = 3.10686 mph; 15.1 + 21.8·3.10686 − 0.327·120 − 0.263·3.10686·30 + 0.00504·120·30 + 0
    // = 15.1 + 67.7296 − 39.24 − 24.5131 + 18.144 = 37.2204
    const result = estimate({ sex: 'female', ageYears: 30, heartRateBpm: 120, speed: { value: 5.0, unit: 'km/h' } });
    expect(result.speedMph).toBeCloseTo(3.10686, 5);
    expect(result.unroundedMlKgMin).toBeCloseTo(37.2204, 4);
    expect(result.vo2maxMlKgMin).toBe(37.2);
  });

  test('differs between the sexes by exactly the 5.98 gender term', () => {
    const male = estimate(base).unroundedMlKgMin;
    const female = estimate({ ...base, sex: 'female' }).unroundedMlKgMin;
    expect(male - female).toBeCloseTo(5.98, 10);
  });

  test('accepts the edges of the validated ranges (2.0–4.5 mph, 20–59 years) without warnings', () => {
    expect(estimate({ ...base, speed: { value: 2.0, unit: 'mph' }, ageYears: 20 }).warnings).toEqual([]);
    expect(estimate({ ...base, speed: { value: 4.5, unit: 'mph' }, ageYears: 59 }).warnings).toEqual([]);
  });

  test('warns, without refusing, when the speed is outside 2.0–4.5 mph', () => {
    const slow = estimate({ ...base, speed: { value: 3.0, unit: 'km/h' } }); // 1.86 mph
    expect(slow.warnings.map((w) => w.code)).toEqual(['speed-outside-validated-range']);
    expect(slow.warnings[0]?.message).toContain('1.86 mph');
    expect(estimate({ ...base, speed: { value: 4.6, unit: 'mph' } }).warnings.map((w) => w.code)).toEqual([
      'speed-outside-validated-range',
    ]);
  });

  test('warns, without refusing, when the age is outside 20–59 years', () => {
    expect(estimate({ ...base, ageYears: 19 }).warnings.map((w) => w.code)).toEqual(['age-outside-validated-range']);
    expect(estimate({ ...base, ageYears: 65 }).warnings.map((w) => w.code)).toEqual(['age-outside-validated-range']);
  });

  test('warns when the warm-up heart rate is outside 50–70 % of the protocol’s 220 − age', () => {
    // Age 40: 220 − 40 = 180; 50–70 % = 90–126 bpm.
    expect(estimate({ ...base, warmUpHeartRateBpm: 90 }).warnings).toEqual([]);
    expect(estimate({ ...base, warmUpHeartRateBpm: 126 }).warnings).toEqual([]);
    expect(estimate({ ...base, warmUpHeartRateBpm: 130 }).warnings.map((w) => w.code)).toEqual([
      'warm-up-heart-rate-outside-target',
    ]);
    expect(estimate({ ...base, warmUpHeartRateBpm: 85 }).warnings.map((w) => w.code)).toEqual([
      'warm-up-heart-rate-outside-target',
    ]);
  });

  test('always carries the caveat that highly trained people may be underestimated', () => {
    expect(estimate(base).caveats).toEqual(['The test may underestimate fitness in highly trained people (PhenX).']);
  });

  test.each<[string, Partial<EbbelingInput>]>([
    ['a zero speed', { speed: { value: 0, unit: 'mph' } }],
    ['a negative heart rate', { heartRateBpm: -1 }],
    ['a missing age', { ageYears: Number.NaN }],
    ['a zero warm-up heart rate', { warmUpHeartRateBpm: 0 }],
  ])('rejects %s', (_case, change) => {
    expect(ebbelingVo2max({ ...base, ...change }).ok).toBe(false);
  });

  test('rejects inputs that give a VO2max of zero or less', () => {
    expect(
      ebbelingVo2max({ sex: 'female', ageYears: 20, heartRateBpm: 250, speed: { value: 0.5, unit: 'mph' } }),
    ).toEqual({
      ok: false,
      reason: 'these speed, heart rate and age give no meaningful VO2max; check the values',
    });
  });
});

describe('toMph', () => {
  test('leaves mph alone and divides km/h by 1.609344', () => {
    expect(toMph({ value: 3, unit: 'mph' })).toBe(3);
    expect(toMph({ value: 1.609344, unit: 'km/h' })).toBe(1);
  });
});
