import {
  FLEMMEN_2014_INTERVAL_PERCENT_HRMAX,
  FOUR_BY_FOUR,
  planFourByFourSession,
  STRENGTH_PROTOCOL,
  strengthLoad,
  type FourByFourOptions,
  type FourByFourPlan,
} from '../../../src/domain/four-by-four.ts';

function plan(hrMax: number, options: FourByFourOptions = {}): FourByFourPlan {
  const result = planFourByFourSession(hrMax, options);
  if (!result.ok) throw new Error(result.reason);
  return result.value;
}

describe('FOUR_BY_FOUR protocol constants', () => {
  test('hold the reference’s session: ~10 min warm-up, 4 × 4 min at 85–95 %, 3 min pauses at ~70 %, ~5 min cool-down', () => {
    expect(FOUR_BY_FOUR).toMatchObject({
      warmUpMin: 10,
      intervals: 4,
      intervalMin: 4,
      intervalPercentHrMax: { low: 85, high: 95 },
      activePauseMin: 3,
      activePausePercentHrMax: 70,
      coolDownMin: 5,
      effectiveMin: 35,
      treadmillMinInclinePercent: 5,
    });
  });

  test('hold the dose: 2–3 sessions a week, the study’s 3 a week for 8 weeks, a fitness test every 3 months', () => {
    expect(FOUR_BY_FOUR.sessionsPerWeek).toEqual({ low: 2, high: 3 });
    expect(FOUR_BY_FOUR.programme).toEqual({ sessionsPerWeek: 3, weeks: 8 });
    expect(FOUR_BY_FOUR.fitnessTestEveryMonths).toBe(3);
  });

  test('hold the strength protocol: 4 sets × 4 reps at 85–90 % of 1RM', () => {
    expect(STRENGTH_PROTOCOL).toMatchObject({ sets: 4, reps: 4, percentOneRm: { low: 85, high: 90 } });
  });
});

describe('planFourByFourSession', () => {
  test('lays out 40 minutes whose first 35 (warm-up, intervals, pauses between them) are the effective minutes', () => {
    const p = plan(182);
    expect(p.totalMin).toBe(40);
    expect(p.effectiveMin).toBe(FOUR_BY_FOUR.effectiveMin);
    expect(p.segments.map((s) => [s.phase, s.intervalNumber, s.startsAtMin, s.durationMin])).toEqual([
      ['warm-up', undefined, 0, 10],
      ['interval', 1, 10, 4],
      ['active-pause', 1, 14, 3],
      ['interval', 2, 17, 4],
      ['active-pause', 2, 21, 3],
      ['interval', 3, 24, 4],
      ['active-pause', 3, 28, 3],
      ['interval', 4, 31, 4],
      ['cool-down', undefined, 35, 5],
    ]);
  });

  test('gives intervals the 85–95 % zone and pauses ~70 % in bpm for HRmax 182 (age 45 estimate)', () => {
    const p = plan(182);
    // 85 % = 154.7 → 155, 95 % = 172.9 → 172, 70 % = 127.4 → 127.
    expect(p.segments[1]?.target).toEqual({ kind: 'zone', lowBpm: 155, highBpm: 172, lowPercent: 85, highPercent: 95 });
    expect(p.segments[2]?.target).toEqual({ kind: 'about', bpm: 127, percent: 70 });
    expect(p.segments[0]?.target).toEqual({ kind: 'none' });
  });

  test('adds a pause after the fourth interval only when asked', () => {
    const p = plan(182, { pauseAfterLastInterval: true });
    expect(p.totalMin).toBe(43);
    expect(p.effectiveMin).toBe(38);
  });

  test('takes other warm-up, pause and cool-down lengths and the study’s 90–95 % zone', () => {
    const p = plan(200, {
      warmUpMin: 15,
      activePauseMin: 2,
      coolDownMin: 0,
      intervalPercent: FLEMMEN_2014_INTERVAL_PERCENT_HRMAX,
    });
    expect(p.totalMin).toBe(15 + 16 + 6);
    expect(p.segments.at(-1)?.phase).toBe('interval');
    expect(p.segments[1]?.target).toMatchObject({ lowBpm: 180, highBpm: 190 });
  });

  test.each<[string, number, FourByFourOptions]>([
    ['a zero HRmax', 0, {}],
    ['a fractional warm-up', 182, { warmUpMin: 7.5 }],
    ['a negative cool-down', 182, { coolDownMin: -1 }],
    ['an upside-down zone', 182, { intervalPercent: { low: 95, high: 85 } }],
  ])('rejects %s', (_case, hrMax, options) => {
    expect(planFourByFourSession(hrMax, options).ok).toBe(false);
  });
});

describe('strengthLoad', () => {
  test('gives 85–90 % of 1RM in kg to 0.1 kg', () => {
    expect(strengthLoad(100)).toEqual({ ok: true, value: { sets: 4, reps: 4, lowKg: 85, highKg: 90 } });
    // 0.85 × 62.5 = 53.125 → 53.1; 0.90 × 62.5 = 56.25 → 56.3.
    expect(strengthLoad(62.5)).toEqual({ ok: true, value: { sets: 4, reps: 4, lowKg: 53.1, highKg: 56.3 } });
  });

  test('rejects a 1RM that is not a positive number', () => {
    expect(strengthLoad(0).ok).toBe(false);
    expect(strengthLoad(Number.POSITIVE_INFINITY).ok).toBe(false);
  });
});
