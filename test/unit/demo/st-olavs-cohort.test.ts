import { parseNationalId } from '../../../src/domain/national-id.ts';
import { expectedPacketCount, expectedRecordCount } from '../../../demo/report.ts';
import { stOlavsCohort, syntheticNationalId, seededRandom } from '../../../demo/st-olavs-cohort.ts';

const cohort = stOlavsCohort('demo-test', { seed: 2014, identitySeed: 7 });

describe('the St. Olavs-like demo cohort', () => {
  it('has the study population: 24 patients, 17 men and 7 women, 32 ± 8 years', () => {
    expect(cohort).toHaveLength(24);
    expect(cohort.filter((p) => p.sex === 'male')).toHaveLength(17);
    const ages = cohort.map((p) => p.ageAtStart);
    const mean = ages.reduce((a, b) => a + b, 0) / ages.length;
    const sd = Math.sqrt(ages.reduce((sum, age) => sum + (age - mean) ** 2, 0) / (ages.length - 1));
    expect(Math.round(mean)).toBe(32);
    expect(Math.round(sd)).toBe(8);
  });

  it('gives every patient a valid synthetic national id of the right sex and age', () => {
    for (const patient of cohort) {
      const id = patient.inputs.prescription.patient.nationalId;
      const parsed = parseNationalId(id);
      if (!parsed.ok) throw new Error(`${patient.label}: ${parsed.reason}`);
      expect(parsed.value.kind).toBe('synthetic');
      expect(parsed.value.sex).toBe(patient.sex);
      const start = patient.inputs.prescription.start;
      const years = (Date.parse(start) - Date.parse(parsed.value.birthDate)) / (365.25 * 86_400_000);
      expect(Math.floor(years)).toBe(patient.ageAtStart);
    }
    expect(new Set(cohort.map((p) => p.inputs.prescription.patient.nationalId)).size).toBe(24);
  });

  it('makes synthetic ids in the individual-number range of the birth century', () => {
    const random = seededRandom(1);
    for (const [birthDate, sex] of [
      ['1999-12-31', 'female'],
      ['2001-02-03', 'male'],
    ] as const) {
      const parsed = parseNationalId(syntheticNationalId(birthDate, sex, random));
      expect(parsed.ok && parsed.value.birthDate).toBe(birthDate);
      expect(parsed.ok && parsed.value.sex).toBe(sex);
    }
  });

  it('prescribes 4x4 three times a week for 8 weeks, holds most sessions, tests at start and end', () => {
    for (const { inputs } of cohort) {
      expect(inputs.prescription.weeks).toBe(8);
      expect(inputs.prescription.components).toEqual([
        expect.objectContaining({ protocol: '4x4', sessionsPerWeek: 3 }),
      ]);
      expect(inputs.sessions.length).toBeLessThanOrEqual(24);
      const [first, last] = inputs.fitnessTests;
      expect(inputs.fitnessTests).toHaveLength(2);
      expect(last?.vo2max?.value).toBeGreaterThan(first?.vo2max?.value ?? Infinity);
    }
    const held = cohort.reduce((n, p) => n + p.inputs.sessions.length, 0) / (24 * 24);
    expect(held).toBeGreaterThan(0.8);
    expect(held).toBeLessThan(1);
  });

  it('improves VO2max by about 15 % on average, as the study did', () => {
    const gains = cohort.map(({ inputs: { fitnessTests } }) => {
      const [first, last] = fitnessTests.map((test) => test.vo2max?.value ?? 0);
      return ((last ?? 0) - (first ?? 1)) / (first ?? 1);
    });
    const mean = gains.reduce((a, b) => a + b, 0) / gains.length;
    expect(mean).toBeGreaterThan(0.1);
    expect(mean).toBeLessThan(0.2);
  });

  it('is the same cohort for the same seed, with other patients for another identity seed', () => {
    const again = stOlavsCohort('demo-test', { seed: 2014, identitySeed: 7 });
    expect(again).toEqual(cohort);
    const others = stOlavsCohort('demo-test', { seed: 2014, identitySeed: 8 });
    expect(expectedRecordCount(others)).toBe(expectedRecordCount(cohort));
    expect(others[0]?.inputs.prescription.patient.nationalId).not.toBe(
      cohort[0]?.inputs.prescription.patient.nationalId,
    );
  });

  it('counts one packet per consenting recipient: 23 for Frisklivssentraler, 14 for training contacts', () => {
    expect(expectedPacketCount(cohort)).toBe(37);
  });
});
