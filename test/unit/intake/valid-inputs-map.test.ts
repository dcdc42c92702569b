// Whatever intake accepts, the mappings must map: a valid input that makes a mapping throw would
// reach the caller as a 500. Random inputs within the schemas' ranges (every optional field
// present or absent, every kind of national id), filtered by the validator, must all map to a
// transaction Bundle.
import fc from 'fast-check';
import { DEFAULT_MAPPING_OPTIONS } from '../../../mappings/common.ts';
import type { FitnessTestInput, HitSessionInput, PrescriptionInput } from '../../../mappings/inputs.ts';
import { mappers } from '../../../mappings/registry.ts';
import { loadContracts } from '../../../src/intake/contracts.ts';
import { createInputValidator } from '../../../src/contracts/input-validator.ts';
import { validNationalId } from '../domain/synthetic-national-ids.ts';

const validator = createInputValidator(loadContracts().schemas);

const id = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/);
const hpr = fc.stringMatching(/^\d{4,9}$/);
const patient = validNationalId().map((generated) => ({ nationalId: generated.id }));
const text = (max: number) => fc.string({ minLength: 1, maxLength: max, unit: 'grapheme' });
const offset = fc.constantFrom('Z', '+01:00', '+02:00', '-05:00', '+14:00');
const MINUTE = 60_000;

/** An instant between 2000 and 2035, written with one of several offsets (seconds, no fraction). */
const dateTime = fc
  .tuple(fc.integer({ min: Date.UTC(2000, 0, 1) / MINUTE, max: Date.UTC(2035, 0, 1) / MINUTE }), offset)
  .map(([minutes, zone]) => write(minutes * MINUTE, zone));

function write(ms: number, zone: string): string {
  const shift =
    zone === 'Z' ? 0 : (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
  const local = new Date(ms + shift * MINUTE).toISOString().slice(0, 19);
  return `${local}${zone}`;
}

const hrMax = fc.record({
  bpm: fc.double({ min: 80, max: 250, noNaN: true }),
  method: fc.constantFrom('measured', 'estimated'),
});
const bpm = fc.integer({ min: 30, max: 250 });
const modality = fc.constantFrom('treadmill', 'cycle', 'rowing', 'outdoor-uphill', 'strength');

const hitSession: fc.Arbitrary<HitSessionInput> = fc
  .record(
    {
      sessionId: id,
      source: id,
      patient,
      performer: fc.record({ hprNumber: hpr }),
      start: fc.integer({ min: Date.UTC(2000, 0, 1) / MINUTE, max: Date.UTC(2035, 0, 1) / MINUTE }),
      lengthMinutes: fc.integer({ min: 1, max: 360 }),
      zone: offset,
      modality,
      protocol: fc.constantFrom('4x4', 'custom'),
      hrMax,
      warmUpMinutes: fc.integer({ min: 0, max: 60 }),
      intervals: fc.array(
        fc.record(
          {
            durationSeconds: fc.integer({ min: 10, max: 1800 }),
            meanHr: bpm,
            peakHr: bpm,
            speedKmh: fc.double({ min: 0, max: 40, noNaN: true }),
            inclinePercent: fc.double({ min: -10, max: 40, noNaN: true }),
          },
          { requiredKeys: ['durationSeconds'] },
        ),
        { maxLength: 30 },
      ),
      activePauses: fc.array(
        fc.record(
          { durationSeconds: fc.integer({ min: 10, max: 1800 }), meanHr: bpm },
          { requiredKeys: ['durationSeconds'] },
        ),
        { maxLength: 30 },
      ),
      coolDownMinutes: fc.double({ min: 0, max: 60, noNaN: true }),
      borgRpe: fc.integer({ min: 6, max: 20 }),
      strengthSets: fc.array(
        fc.record(
          {
            exercise: text(100),
            sets: fc.integer({ min: 1, max: 20 }),
            reps: fc.integer({ min: 1, max: 100 }),
            loadKg: fc.double({ min: 0, max: 1000, noNaN: true }),
            oneRepMaxKg: fc.double({ min: 0.5, max: 1000, noNaN: true }),
          },
          { requiredKeys: ['exercise', 'sets', 'reps', 'loadKg'] },
        ),
        { maxLength: 50 },
      ),
      prescriptionId: id,
      note: text(2000),
    },
    {
      requiredKeys: [
        'sessionId',
        'source',
        'patient',
        'performer',
        'start',
        'lengthMinutes',
        'zone',
        'modality',
        'protocol',
      ],
    },
  )
  .map(({ start, lengthMinutes, zone, ...rest }) => ({
    ...rest,
    startedAt: write(start * MINUTE, zone),
    endedAt: write((start + lengthMinutes) * MINUTE, zone),
  }));

const fitnessTest: fc.Arbitrary<FitnessTestInput> = fc.record(
  {
    testId: id,
    source: id,
    patient,
    performer: fc.record({ hprNumber: hpr }),
    performedAt: dateTime,
    kind: fc.constantFrom('treadmill-max', 'treadmill-submax', 'six-minute', 'one-rep-max'),
    vo2max: fc.record({
      value: fc.double({ min: 5, max: 100, noNaN: true }),
      method: fc.constantFrom('measured', 'estimated'),
    }),
    hrMax,
    submax: fc.record({
      durationMinutes: fc.double({ min: 1, max: 30, noNaN: true }),
      speedKmh: fc.double({ min: 0.5, max: 25, noNaN: true }),
      inclinePercent: fc.double({ min: 0, max: 40, noNaN: true }),
      steadyStateHr: bpm,
    }),
    sixMinuteDistanceMeters: fc.double({ min: 0, max: 1500, noNaN: true }),
    oneRepMax: fc.array(fc.record({ exercise: text(100), kg: fc.double({ min: 0.5, max: 1000, noNaN: true }) }), {
      minLength: 1,
      maxLength: 20,
    }),
    note: text(2000),
  },
  { requiredKeys: ['testId', 'source', 'patient', 'performer', 'performedAt', 'kind'] },
);

const component = fc.oneof(
  fc.record(
    {
      kind: fc.constant('interval' as const),
      protocol: fc.constant('4x4' as const),
      sessionsPerWeek: fc.integer({ min: 1, max: 7 }),
      modality: fc.constantFrom('treadmill', 'cycle', 'rowing', 'outdoor-uphill'),
      inclinePercentMin: fc.double({ min: 0, max: 40, noNaN: true }),
    },
    { requiredKeys: ['kind', 'protocol', 'sessionsPerWeek', 'modality'] },
  ),
  fc.record({
    kind: fc.constant('strength' as const),
    sessionsPerWeek: fc.integer({ min: 1, max: 7 }),
    sets: fc.integer({ min: 1, max: 20 }),
    reps: fc.integer({ min: 1, max: 100 }),
    intensityPercent1RM: fc
      .tuple(fc.double({ min: 30, max: 100, noNaN: true }), fc.double({ min: 30, max: 100, noNaN: true }))
      .map(([a, b]): readonly [number, number] => (a <= b ? [a, b] : [b, a])),
    exercises: fc.array(text(100), { minLength: 1, maxLength: 20 }),
  }),
);

const prescription: fc.Arbitrary<PrescriptionInput> = fc
  .record(
    {
      prescriptionId: id,
      source: id,
      patient,
      prescriber: fc.record({ hprNumber: hpr }),
      issuedAt: dateTime,
      startShiftDays: fc.integer({ min: -30, max: 60 }),
      weeks: fc.integer({ min: 1, max: 52 }),
      hrMax,
      components: fc.array(component, { minLength: 1, maxLength: 10 }),
      goals: fc.array(
        fc.oneof(
          fc.record({
            description: text(500),
            measure: fc.constant('vo2max' as const),
            target: fc.double({ min: 5, max: 100, noNaN: true }),
          }),
          fc.record({
            description: text(500),
            measure: fc.constant('one-rep-max' as const),
            target: fc.double({ min: 0.5, max: 1000, noNaN: true }),
          }),
          fc.record({
            description: text(500),
            measure: fc.constant('attendance' as const),
            target: fc.double({ min: 1, max: 7, noNaN: true }),
          }),
        ),
        { maxLength: 10 },
      ),
      note: text(2000),
    },
    {
      requiredKeys: [
        'prescriptionId',
        'source',
        'patient',
        'prescriber',
        'issuedAt',
        'startShiftDays',
        'weeks',
        'components',
      ],
    },
  )
  .map(({ startShiftDays, ...rest }) => ({
    ...rest,
    start: new Date(Date.parse(rest.issuedAt) + startShiftDays * 86_400_000).toISOString().slice(0, 10),
  }));

describe('every input intake accepts maps to a transaction Bundle', () => {
  it.each([
    ['hit-sessions', hitSession],
    ['fitness-tests', fitnessTest],
    ['prescriptions', prescription],
  ] as const)('%s', (kind, arbitrary) => {
    let accepted = 0;
    fc.assert(
      fc.property(arbitrary as fc.Arbitrary<object>, (input) => {
        const errors = validator.check(kind, input);
        // Only the domain rules may reject a generated input (a birth after the record's day, a peak below the mean).
        expect(
          errors.filter((e) => !['national-id', 'peak-not-below-mean', 'required-for-kind'].includes(e.rule)),
        ).toEqual([]);
        if (errors.length > 0) return;
        accepted += 1;
        const map = mappers[kind] as (
          input: object,
          options: typeof DEFAULT_MAPPING_OPTIONS,
        ) => { resourceType: string; type?: string };
        expect(map(input, DEFAULT_MAPPING_OPTIONS)).toMatchObject({ resourceType: 'Bundle', type: 'transaction' });
        expect(map(input, { ehrProfile: 'generic', ncmpDipsCoding: true })).toMatchObject({ resourceType: 'Bundle' });
      }),
      { numRuns: 300 },
    );
    expect(accepted).toBeGreaterThan(50);
  });
});
