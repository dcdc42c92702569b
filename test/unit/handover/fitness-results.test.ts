import type { Observation } from 'fhir/r4.js';
import { changeOf, readFitnessResults } from '../../../src/handover/fitness-results.ts';
import { factsFor } from '../../support/ehr-view.ts';
import { handoverCohort } from '../../support/handover-cohort.ts';

const typical = factsFor(handoverCohort('typical')).observations;

describe('readFitnessResults on the fitness tests our mapping wrote', () => {
  it('VO2max 42.3 → 48.7 mL/kg/min is +15.1 % (6.4 / 42.3 = 15.13 %)', () => {
    const results = readFitnessResults(typical);
    expect(results.vo2max.map((m) => m.value)).toEqual([42.3, 48.7]);
    expect(results.vo2maxChange?.changePercent).toBe(15.1);
    expect(results.vo2max.every((m) => !m.estimated)).toBe(true);
  });

  it('fitness age 56 → 37 years for a man (HUNT3 means: 42.3 lies 0.3/3.4 past the 55-year mean, 48.7 0.4/1.9 past the 35-year one)', () => {
    const results = readFitnessResults(typical);
    expect(results.fitnessAge.map((m) => m.value)).toEqual([56, 37]);
  });

  it('1RM per exercise first → last: beinpress 100 → 120 kg (+20.0 %), knebøy 70 → 85 kg (+21.4 %)', () => {
    const results = readFitnessResults(typical);
    expect(
      results.oneRepMax.map((r) => [r.exercise, r.change.first.value, r.change.last.value, r.change.changePercent]),
    ).toEqual([
      ['beinpress', 100, 120, 20],
      ['knebøy', 70, 85, 21.4],
    ]);
  });

  it('does not depend on the order the search returned the Observations in', () => {
    const forwards = readFitnessResults(typical);
    const backwards = readFitnessResults([...typical].reverse());
    expect(backwards.vo2maxChange).toEqual(forwards.vo2maxChange);
    expect(backwards.oneRepMax).toEqual(forwards.oneRepMax);
  });

  it('takes three tests first → last: 30.4 → 33.9 is +11.5 % (3.5 / 30.4 = 11.51 %)', () => {
    const results = readFitnessResults(factsFor(handoverCohort('no-contact-details')).observations);
    expect(results.vo2max.map((m) => m.value)).toEqual([30.4, 32.1, 33.9]);
    expect(results.vo2maxChange?.changePercent).toBe(11.5);
  });

  it('leaves out results entered in error', () => {
    const withdrawn = typical.map((o): Observation =>
      o.valueQuantity?.value === 48.7 ? { ...o, status: 'entered-in-error' } : o,
    );
    const results = readFitnessResults(withdrawn);
    expect(results.vo2max.map((m) => m.value)).toEqual([42.3]);
    expect(results.vo2maxChange?.changePercent).toBeUndefined();
  });

  it('lists as sources only the Observations it read (not the panels, not HRmax)', () => {
    const results = readFitnessResults(typical);
    // Per test: VO2max, fitness age and two 1RM; two tests.
    expect(results.sources).toHaveLength(8);
  });

  it('has nothing to say without tests', () => {
    const results = readFitnessResults([]);
    expect(results).toMatchObject({ vo2max: [], vo2maxChange: undefined, fitnessAge: [], oneRepMax: [] });
  });
});

describe('changeOf', () => {
  const at = (day: number, value: number) => ({
    at: `2026-01-${String(day).padStart(2, '0')}T10:00:00Z`,
    value,
    identifierValue: `m${day}`,
  });

  it('rounds the change to one decimal, half away from zero, either way', () => {
    // 10 → 10.125: +1.25 % → 1.3; 10 → 9.875: −1.25 % → −1.3.
    expect(changeOf([at(1, 10), at(2, 10.125)])?.changePercent).toBe(1.3);
    expect(changeOf([at(1, 10), at(2, 9.875)])?.changePercent).toBe(-1.3);
  });

  it('has no change for one measurement and nothing for none', () => {
    expect(changeOf([at(1, 40)])?.changePercent).toBeUndefined();
    expect(changeOf([])).toBeUndefined();
  });
});
