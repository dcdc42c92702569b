import {
  assessSessionHeartRate,
  estimateHrMax,
  heartRateZones,
  resolveHrMax,
  type HrMax,
  type IntervalHeartRate,
  type SessionHeartRateAssessment,
} from '../../../src/domain/heart-rate.ts';
import type { Result } from '../../../src/domain/result.ts';

function value<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`expected ok, got: ${result.reason}`);
  return result.value;
}

const measured = (bpm: number): HrMax => ({ source: 'measured', bpm });
const assess = (hrMax: HrMax, intervals: IntervalHeartRate[]): SessionHeartRateAssessment =>
  value(assessSessionHeartRate(hrMax, intervals));

describe('HRmax', () => {
  // 211 − 0.64 × age (Nes 2013), rounded half-up to whole bpm.
  test.each([
    [20, 198.2, 198], // 0.64 × 20 = 12.8
    [40, 185.4, 185], // the worked example in docs/reference/fitness.md §1
    [45, 182.2, 182], // 0.64 × 45 = 28.8
    [70, 166.2, 166], // 0.64 × 70 = 44.8
  ])('estimates HRmax at age %i as %f, shown as %i bpm', (age, unrounded, bpm) => {
    const estimate = value(estimateHrMax(age));
    expect(estimate.unroundedBpm).toBeCloseTo(unrounded, 10);
    expect(estimate.bpm).toBe(bpm);
  });

  test('names the estimate’s method, source and standard error', () => {
    expect(value(estimateHrMax(45))).toMatchObject({
      source: 'estimated',
      ageYears: 45,
      method: 'HRmax = 211 − 0.64 × age (HUNT)',
      seeBpm: 10.8,
      citation: expect.stringContaining('Nes BM') as unknown,
    });
  });

  test('uses a measured HRmax over the age-based estimate', () => {
    expect(resolveHrMax({ measuredBpm: 190, ageYears: 45 })).toEqual({
      ok: true,
      value: { source: 'measured', bpm: 190 },
    });
  });

  test('estimates from age only when no measured HRmax is given', () => {
    expect(value(resolveHrMax({ ageYears: 45 }))).toMatchObject({ source: 'estimated', bpm: 182 });
  });

  test('rejects a request with neither a measurement nor an age, and nonsense values', () => {
    expect(resolveHrMax({}).ok).toBe(false);
    expect(resolveHrMax({ measuredBpm: 0 }).ok).toBe(false);
    expect(resolveHrMax({ measuredBpm: Number.NaN, ageYears: 40 }).ok).toBe(false);
    expect(estimateHrMax(-1).ok).toBe(false);
  });
});

describe('heartRateZones', () => {
  // Lower bound rounded up, upper bound down (every whole bpm shown is inside the band); the
  // active-pause target rounded half-up.
  test.each([
    [198, 169, 188, 139], // 168.3, 188.1, 138.6
    [182, 155, 172, 127], // 154.7, 172.9, 127.4
    [166, 142, 157, 116], // 141.1, 157.7, 116.2
    [200, 170, 190, 140], // exact: bounds kept
    [185, 158, 175, 130], // 157.25, 175.75, 129.5 → half-up 130
  ])('gives HRmax %i an interval zone of %i–%i bpm and an active pause of about %i bpm', (hrMax, low, high, pause) => {
    const zones = heartRateZones(hrMax);
    expect(zones.interval).toEqual({ lowPercent: 85, highPercent: 95, lowBpm: low, highBpm: high });
    expect(zones.activePause).toEqual({ percent: 70, bpm: pause });
  });

  test('takes another percentage band, e.g. the St. Olavs study’s 90–95 %', () => {
    expect(heartRateZones(200, { low: 90, high: 95 }).interval).toMatchObject({ lowBpm: 180, highBpm: 190 });
  });
});

describe('assessSessionHeartRate', () => {
  test('flags an interval whose mean is below 85 % of HRmax, and says when even the peak never reached the zone', () => {
    const result = assess(measured(200), [
      { meanBpm: 165, peakBpm: 175 },
      { meanBpm: 160, peakBpm: 168 },
      { meanBpm: 170, peakBpm: 180 },
    ]);
    expect(result.flags).toEqual([
      {
        code: 'interval-below-zone',
        interval: 1,
        meanBpm: 165,
        zoneLowBpm: 170,
        peakReachedZone: true,
        message: 'Interval 1: mean heart rate 165 is below the zone (85 % of HRmax = 170).',
      },
      {
        code: 'interval-below-zone',
        interval: 2,
        meanBpm: 160,
        zoneLowBpm: 170,
        peakReachedZone: false,
        message: 'Interval 2: mean heart rate 160 is below the zone (85 % of HRmax = 170); the zone was never reached.',
      },
    ]);
    expect(result.intervals[0]?.meanPercentOfHrMax).toBeCloseTo(82.5, 10);
  });

  test('flags a peak above an estimated HRmax as a sign the estimate is too low', () => {
    const hrMax = value(estimateHrMax(45)); // 182
    const result = assess(hrMax, [
      { meanBpm: 165, peakBpm: 181 },
      { meanBpm: 170, peakBpm: 186 },
      { meanBpm: 172, peakBpm: 188 },
    ]);
    const flag = result.flags.find((f) => f.code === 'peak-above-hrmax');
    expect(flag).toMatchObject({ peakBpm: 188, hrMaxBpm: 182, hrMaxSource: 'estimated', intervals: [2, 3] });
    expect(flag?.message).toMatch(/estimate is probably too low/);
  });

  test('flags a peak above a measured HRmax as a sign the HRmax test was not maximal', () => {
    const result = assess(measured(180), [{ meanBpm: 165, peakBpm: 184 }]);
    expect(result.flags).toHaveLength(1);
    expect(result.flags[0]?.message).toMatch(/test was probably not maximal/);
  });

  test('raises no flag for a peak equal to HRmax or a mean exactly at 85 %', () => {
    expect(assess(measured(200), [{ meanBpm: 170, peakBpm: 200 }]).flags).toEqual([]);
  });

  test('computes time in zone from samples, each holding until the next and the last until the interval ends', () => {
    // HRmax 200: zone 170–190. 0–60 s at 150 (below), 60–180 s at 172 and 185 (in), 180–240 s at 195 (above).
    const result = assess(measured(200), [
      {
        samples: [
          { atSecond: 0, bpm: 150 },
          { atSecond: 60, bpm: 172 },
          { atSecond: 120, bpm: 185 },
          { atSecond: 180, bpm: 195 },
        ],
      },
    ]);
    expect(result.intervals[0]).toEqual({
      interval: 1,
      meanBpm: 175.5,
      meanPercentOfHrMax: 87.75,
      peakBpm: 195,
      secondsInZone: 120,
      timeInZoneFrom: 'samples',
    });
    expect(result.secondsInZone).toBe(120);
    expect(result.minutesInZone).toBe(2);
  });

  test('does not count the time before the first sample as in the zone', () => {
    const result = assess(measured(200), [{ samples: [{ atSecond: 30, bpm: 180 }], durationSeconds: 240 }]);
    expect(result.secondsInZone).toBe(210);
  });

  test('prefers the device-reported time in zone over samples', () => {
    const result = assess(measured(200), [{ secondsInZone: 200, samples: [{ atSecond: 0, bpm: 150 }] }]);
    expect(result.intervals[0]).toMatchObject({ secondsInZone: 200, timeInZoneFrom: 'reported' });
  });

  test('totals time in zone over the session in minutes to one decimal when every interval has it', () => {
    const result = assess(measured(200), [
      { secondsInZone: 180 },
      { secondsInZone: 200 },
      { secondsInZone: 210 },
      { secondsInZone: 221 },
    ]);
    expect(result.secondsInZone).toBe(811);
    expect(result.minutesInZone).toBe(13.5); // 13.52 min
    expect(result.intervalsWithoutTimeInZone).toEqual([]);
  });

  test('gives no session total, and names the intervals lacking data, when some interval has none', () => {
    const result = assess(measured(200), [{ secondsInZone: 180 }, { meanBpm: 175 }, { secondsInZone: 200 }, {}]);
    expect(result.secondsInZone).toBeUndefined();
    expect(result.minutesInZone).toBeUndefined();
    expect(result.intervalsWithoutTimeInZone).toEqual([2, 4]);
    expect(result.intervals[1]).toMatchObject({ secondsInZone: undefined, timeInZoneFrom: undefined });
  });

  test.each<[string, IntervalHeartRate, RegExp]>([
    ['a negative mean', { meanBpm: -5 }, /interval 2: mean heart rate must be a positive number/],
    ['time in zone longer than the interval', { secondsInZone: 300 }, /interval 2: time in zone/],
    [
      'samples out of order',
      {
        samples: [
          { atSecond: 60, bpm: 170 },
          { atSecond: 30, bpm: 171 },
        ],
      },
      /interval 2: heart-rate samples must have increasing times/,
    ],
    ['a zero sample', { samples: [{ atSecond: 0, bpm: 0 }] }, /interval 2: every heart-rate sample/],
  ])('rejects %s, naming the interval', (_case, bad, reason) => {
    const result = assessSessionHeartRate(measured(200), [{ meanBpm: 175 }, bad]);
    expect(result.ok ? undefined : result.reason).toMatch(reason);
  });
});
