import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceRequest } from 'fhir/r4.js';
import { DEFAULT_MAPPING_OPTIONS } from '../../../mappings/common.ts';
import type { PrescriptionInput } from '../../../mappings/inputs.ts';
import { mapPrescription } from '../../../mappings/prescription.ts';
import { heartRateZones } from '../../../src/domain/heart-rate.ts';
import { readPrescriptionPlan, type PrescriptionPlan } from '../../../src/handover/prescription-plan.ts';
import { fixtureCases, readInput } from '../../support/fixtures.ts';
import { handoverCohort } from '../../support/handover-cohort.ts';

function serviceRequestOf(input: PrescriptionInput): ServiceRequest {
  const resource = mapPrescription(input, DEFAULT_MAPPING_OPTIONS).entry?.[0]?.resource;
  if (resource?.resourceType !== 'ServiceRequest') throw new Error('the mapping put no ServiceRequest first');
  return resource;
}

function planOf(input: PrescriptionInput): PrescriptionPlan {
  const reading = readPrescriptionPlan(serviceRequestOf(input));
  if (!reading.ok) throw new Error(reading.reason);
  return reading.value;
}

const prescriptions = fixtureCases(['prescriptions']).map(
  (fixture) => [fixture.name, readInput(fixture) as PrescriptionInput] as const,
);

/** What the mapping wrote before the dose extensions: each component only as its Norwegian sentence. */
function withoutDose(sr: ServiceRequest): ServiceRequest {
  return { ...sr, orderDetail: (sr.orderDetail ?? []).map((detail) => ({ text: detail.text ?? '' })) };
}

/** The same ServiceRequest with every sentence for people reworded; the structure untouched. */
function reworded(sr: ServiceRequest): ServiceRequest {
  return {
    ...sr,
    orderDetail: (sr.orderDetail ?? []).map((detail, n) => ({
      ...detail,
      text: `Del ${String(n + 1)} av resepten, med nye ord: se strukturen.`,
    })),
    patientInstruction: 'Følg planen fra treningsklinikken.',
  };
}

/**
 * The plan each prescription fixture gave when the handover still read the ServiceRequest's text
 * (test/fixtures/handover/<case>.plan.json, written by that reader and not regenerated since; only
 * the session's per-minute `minutes`, which the plan no longer has, were taken out of them): the
 * structured dose must give exactly the same plan.
 */
function goldenPlan(name: string): unknown {
  return JSON.parse(readFileSync(join('test', 'fixtures', 'handover', `${name}.plan.json`), 'utf8'));
}

function reading(sr: ServiceRequest): PrescriptionPlan {
  const result = readPrescriptionPlan(sr);
  if (!result.ok) throw new Error(result.reason);
  return result.value;
}

describe('the structured dose gives the plan the text gave', () => {
  it.each(prescriptions)('%s: read from the structure, the plan equals its golden file', (name, input) => {
    expect(reading(serviceRequestOf(input))).toEqual(goldenPlan(name));
  });

  it.each(prescriptions)(
    '%s: a ServiceRequest from before the extensions still gives the golden plan',
    (name, input) => {
      expect(reading(withoutDose(serviceRequestOf(input)))).toEqual(goldenPlan(name));
    },
  );

  it.each(prescriptions)('%s: with its text reworded, the structure still gives the golden plan', (name, input) => {
    expect(reading(reworded(serviceRequestOf(input)))).toEqual(goldenPlan(name));
  });

  it('the reworded ServiceRequest could not be read from its text alone (so the structure is what carries it)', () => {
    const outcomes = prescriptions.map(([, input]) =>
      readPrescriptionPlan(withoutDose(reworded(serviceRequestOf(input)))),
    );
    expect(outcomes.every((outcome) => !outcome.ok)).toBe(true);
  });

  it('prefers the structure where structure and text disagree', () => {
    const sr = serviceRequestOf(handoverCohort('typical').prescription);
    const contradicting = {
      ...sr,
      orderDetail: (sr.orderDetail ?? []).map((detail) => ({
        ...detail,
        text: (detail.text ?? '').replace('Makspuls 186', 'Makspuls 150'),
      })),
    };
    expect(contradicting.orderDetail.some((detail) => detail.text.includes('Makspuls 150'))).toBe(true);
    expect(reading(contradicting).interval?.hrMaxBpm).toBe(186);
  });

  it('refuses a structured 4x4 dose that lacks its HRmax instead of reading the text', () => {
    const sr = serviceRequestOf(handoverCohort('typical').prescription);
    const broken = {
      ...sr,
      orderDetail: (sr.orderDetail ?? []).map((detail) => ({
        ...detail,
        extension: (detail.extension ?? []).map((dose) => ({
          ...dose,
          extension: (dose.extension ?? []).filter((part) => part.url !== 'hrMax'),
        })),
      })),
    };
    expect(readPrescriptionPlan(broken)).toEqual({ ok: false, reason: expect.stringContaining('hrMax') as unknown });
  });
});

describe('readPrescriptionPlan on what our mapping writes', () => {
  it('has prescription fixtures to read', () => {
    expect(prescriptions.length).toBeGreaterThanOrEqual(4);
  });

  it.each(prescriptions)('%s: reads back the period, frequency and every component the clinic sent', (_name, input) => {
    const plan = planOf(input);
    expect(plan.start).toBe(input.start);
    expect(plan.weeks).toBe(input.weeks);
    expect(plan.sessionsPerWeek).toBe(Math.max(...input.components.map((c) => c.sessionsPerWeek)));
    expect(plan.identifierValue).toBe(`prescription/${input.prescriptionId}`);
    for (const component of input.components) {
      if (component.kind === 'interval') {
        expect(plan.interval?.sessionsPerWeek).toBe(component.sessionsPerWeek);
        if (input.hrMax !== undefined) expect(plan.interval?.hrMaxBpm).toBe(input.hrMax.bpm);
        const zones = heartRateZones(plan.interval?.hrMaxBpm ?? 0);
        expect(plan.interval?.zone).toEqual({
          lowBpm: zones.interval.lowBpm,
          highBpm: zones.interval.highBpm,
          lowPercent: 85,
          highPercent: 95,
        });
        expect(plan.interval?.pause).toEqual({ bpm: zones.activePause.bpm, percent: 70 });
        expect(plan.interval?.inclinePercentMin).toBe(
          component.inclinePercentMin ?? (component.modality === 'treadmill' ? 5 : undefined),
        );
      } else {
        expect(plan.strength).toEqual({
          sessionsPerWeek: component.sessionsPerWeek,
          sets: component.sets,
          reps: component.reps,
          percent1RM: { low: component.intensityPercent1RM[0], high: component.intensityPercent1RM[1] },
          exercises: component.exercises,
        });
      }
    }
    if (!input.components.some((c) => c.kind === 'interval')) expect(plan.interval).toBeUndefined();
    if (!input.components.some((c) => c.kind === 'strength')) expect(plan.strength).toBeUndefined();
  });

  it('reads the typical cohort by hand: HRmax 186 measured → zone 159–176 bpm, pause 130 bpm, 8 weeks to 1 March', () => {
    const plan = planOf(handoverCohort('typical').prescription);
    // 85 % of 186 = 158.1 → 159 (up), 95 % = 176.7 → 176 (down), 70 % = 130.2 → 130.
    expect(plan.interval).toMatchObject({
      hrMaxBpm: 186,
      hrMaxMeasured: true,
      modalityText: 'på tredemølle',
      zone: { lowBpm: 159, highBpm: 176 },
      pause: { bpm: 130 },
    });
    // 5 January + 8 × 7 − 1 days = 1 March 2026.
    expect(plan).toMatchObject({ start: '2026-01-05', end: '2026-03-01', weeks: 8, sessionsPerWeek: 3 });
    expect(plan.interval?.session.totalMin).toBe(40);
    expect(plan.note).toBe('Trener helst før lunsj.');
  });

  it('reads an HRmax the mapping estimated from the age: 211 − 0.64 × 54 = 176.4 → 176', () => {
    // Kari, born 12 June 1971, is 54 on 2 March 2026.
    const plan = planOf(handoverCohort('interval-only-estimated-hrmax').prescription);
    expect(plan.interval?.hrMaxBpm).toBe(176);
    expect(plan.interval?.hrMaxMeasured).toBe(false);
    expect(plan.interval?.hrMaxBasis).toMatch(/^estimert: 211 − 0,64 × alder/u);
    // 85 % of 176 = 149.6 → 150, 95 % = 167.2 → 167, 70 % = 123.2 → 123.
    expect(plan.interval?.zone).toMatchObject({ lowBpm: 150, highBpm: 167 });
    expect(plan.interval?.pause.bpm).toBe(123);
    expect(plan.interval?.modalityText).toBe('på ergometersykkel');
  });

  it('refuses a ServiceRequest without a training period', () => {
    const sr = serviceRequestOf(handoverCohort('typical').prescription);
    const reading = readPrescriptionPlan({
      ...sr,
      occurrenceTiming: { repeat: { frequency: 3, period: 1, periodUnit: 'wk' } },
    });
    expect(reading).toEqual({ ok: false, reason: expect.stringContaining('training period') as unknown });
  });

  it('refuses a ServiceRequest from before the dose extensions whose 4x4 text it cannot read, rather than hand over no pulse numbers', () => {
    const sr = serviceRequestOf(handoverCohort('typical').prescription);
    const reworded = {
      ...sr,
      orderDetail: (sr.orderDetail ?? []).map((d) => ({ text: (d.text ?? '').replace('Makspuls', 'Maksimal puls') })),
    };
    const reading = readPrescriptionPlan(reworded);
    expect(reading.ok).toBe(false);
  });

  it('refuses a prescription with neither intervals nor strength', () => {
    const sr = serviceRequestOf(handoverCohort('typical').prescription);
    expect(readPrescriptionPlan({ ...sr, orderDetail: [] }).ok).toBe(false);
  });
});
