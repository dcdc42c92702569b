import type { Extension } from 'fhir/r4.js';
import {
  DOSE_EXTENSIONS,
  hrMaxBasisNo,
  intervalDoseExtension,
  readIntervalDose,
  readOrderDetailDose,
  readStrengthDose,
  strengthDoseExtension,
  type IntervalDose,
  type StrengthDose,
} from '../../../mappings/prescription-dose.ts';

const INTERVAL: IntervalDose = {
  sessionsPerWeek: 3,
  modality: 'treadmill',
  hrMax: { bpm: 187, method: 'hunt-estimate', estimatedAtAge: 37 },
  intervalZone: { lowBpm: 159, highBpm: 177, lowPercent: 85, highPercent: 95 },
  activePause: { bpm: 131, percent: 70 },
  inclinePercentMin: 5,
};

const STRENGTH: StrengthDose = {
  sessionsPerWeek: 2,
  sets: 4,
  reps: 4,
  percent1RM: { low: 82.5, high: 90 },
  exercises: ['beinpress', 'knebøy'],
};

function without(extension: Extension, part: string): Extension {
  return { ...extension, extension: (extension.extension ?? []).filter((e) => e.url !== part) };
}

describe('the structured prescription dose', () => {
  it('reads back exactly the 4x4 dose it wrote', () => {
    expect(readIntervalDose(intervalDoseExtension(INTERVAL))).toEqual({ ok: true, value: INTERVAL });
  });

  it('reads back a measured HRmax without an age, and no incline where none was given', () => {
    const measured: IntervalDose = {
      sessionsPerWeek: 2,
      modality: 'cycle',
      hrMax: { bpm: 176, method: 'measured' },
      intervalZone: { lowBpm: 150, highBpm: 167, lowPercent: 85, highPercent: 95 },
      activePause: { bpm: 123, percent: 70 },
    };
    expect(readIntervalDose(intervalDoseExtension(measured))).toEqual({ ok: true, value: measured });
  });

  it('reads back exactly the strength dose it wrote, decimals and exercises in order', () => {
    expect(readStrengthDose(strengthDoseExtension(STRENGTH))).toEqual({ ok: true, value: STRENGTH });
  });

  it('writes UCUM quantities: bpm as /min, percentages as %', () => {
    const parts = intervalDoseExtension(INTERVAL).extension ?? [];
    expect(parts.find((p) => p.url === 'hrMax')?.valueQuantity).toEqual({
      value: 187,
      unit: '/min',
      system: 'http://unitsofmeasure.org',
      code: '/min',
    });
    expect(parts.find((p) => p.url === 'intervalPercentOfHrMax')?.valueRange?.high?.code).toBe('%');
  });

  it.each(['sessionsPerWeek', 'modality', 'hrMax', 'hrMaxMethod', 'intervalHeartRate', 'activePauseHeartRate'])(
    'refuses a 4x4 dose without its %s, naming it',
    (part) => {
      expect(readIntervalDose(without(intervalDoseExtension(INTERVAL), part))).toEqual({
        ok: false,
        reason: expect.stringContaining(part) as unknown,
      });
    },
  );

  it('refuses a HUNT estimate that does not say the age it was made at', () => {
    expect(readIntervalDose(without(intervalDoseExtension(INTERVAL), 'hrMaxEstimatedAtAge')).ok).toBe(false);
  });

  it('refuses an unknown modality or HRmax method', () => {
    const unknown = (part: string) => ({
      ...intervalDoseExtension(INTERVAL),
      extension: (intervalDoseExtension(INTERVAL).extension ?? []).map((e) =>
        e.url === part ? { url: part, valueCode: 'swimming' } : e,
      ),
    });
    expect(readIntervalDose(unknown('modality')).ok).toBe(false);
    expect(readIntervalDose(unknown('hrMaxMethod')).ok).toBe(false);
  });

  it.each(['sets', 'repetitions', 'percentOfOneRepMax'])('refuses a strength dose without its %s', (part) => {
    expect(readStrengthDose(without(strengthDoseExtension(STRENGTH), part)).ok).toBe(false);
  });

  it('tells an orderDetail with a 4x4 dose, a strength dose, or none (written before the extensions)', () => {
    expect(readOrderDetailDose({ extension: [intervalDoseExtension(INTERVAL)], text: 'x' })?.kind).toBe('interval');
    expect(readOrderDetailDose({ extension: [strengthDoseExtension(STRENGTH)], text: 'x' })?.kind).toBe('strength');
    expect(readOrderDetailDose({ text: '4x4-intervalltrening på tredemølle …' })).toBeUndefined();
    expect(readOrderDetailDose({ extension: [{ url: `${DOSE_EXTENSIONS.interval}-other` }] })).toBeUndefined();
  });

  it('says where the HRmax comes from in the words the prescription has always used', () => {
    expect(hrMaxBasisNo('measured')).toBe('målt');
    expect(hrMaxBasisNo('clinic-estimate')).toBe('estimert av klinikken');
    expect(hrMaxBasisNo('hunt-estimate', 37)).toBe(
      'estimert: 211 − 0,64 × alder, 37 år ved oppstart, etter HUNT-formelen; kan avvike fra den virkelige ' +
        'makspulsen med standardfeil 10,8 slag/min, en målt makspuls er sikrere',
    );
  });
});
