import type { FieldError } from '../../../src/platform/problem.ts';
import { Problem } from '../../../src/platform/problem.ts';
import { loadContracts } from '../../../src/intake/contracts.ts';
import { createInputValidator, MAX_REPORTED_ERRORS } from '../../../src/contracts/input-validator.ts';
import {
  BORN_JUNE_2026,
  FITNESS_TEST,
  HIT_SESSION,
  NATIONAL_ID,
  PRESCRIPTION,
  STRENGTH_SESSION,
  variant,
  withWrongCheckDigit,
} from '../intake/examples.ts';
import type { RecordKind } from '../../../src/kinds/kinds.ts';

const validator = createInputValidator(loadContracts().schemas);

const BASE: Record<RecordKind, object> = {
  'hit-sessions': HIT_SESSION,
  'fitness-tests': FITNESS_TEST,
  prescriptions: PRESCRIPTION,
};

function errorsOf(kind: RecordKind, changes: Record<string, unknown>, base: object = BASE[kind]): FieldError[] {
  return validator.check(kind, variant(base, changes));
}

describe('schema rules, each reported with its field and a plain-language reason', () => {
  it.each<[string, RecordKind, Record<string, unknown>, FieldError]>([
    [
      'a missing required field',
      'hit-sessions',
      { '/startedAt': undefined },
      { field: '/startedAt', rule: 'required', message: 'is required' },
    ],
    [
      'a missing field inside an object',
      'hit-sessions',
      { '/patient/nationalId': undefined },
      { field: '/patient/nationalId', rule: 'required', message: 'is required' },
    ],
    [
      'a field the schema does not know',
      'hit-sessions',
      { '/heartRate': 150 },
      { field: '/heartRate', rule: 'additionalProperties', message: 'is not a field we know' },
    ],
    [
      'a heart rate above the range, with its unit',
      'hit-sessions',
      { '/intervals/1/peakHr': 251 },
      { field: '/intervals/1/peakHr', rule: 'maximum', message: 'must be at most 250 beats per minute' },
    ],
    [
      'a heart rate below the range, with its unit',
      'hit-sessions',
      { '/activePauses/0/meanHr': 29 },
      { field: '/activePauses/0/meanHr', rule: 'minimum', message: 'must be at least 30 beats per minute' },
    ],
    [
      'a Borg rating outside 6–20',
      'hit-sessions',
      { '/borgRpe': 21 },
      { field: '/borgRpe', rule: 'maximum', message: 'must be at most 20' },
    ],
    [
      'a Borg rating that is not a whole number',
      'hit-sessions',
      { '/borgRpe': 16.5 },
      { field: '/borgRpe', rule: 'type', message: 'must be a whole number' },
    ],
    [
      'a number sent as text',
      'hit-sessions',
      { '/intervals/0/speedKmh': '5.5' },
      { field: '/intervals/0/speedKmh', rule: 'type', message: 'must be a number' },
    ],
    [
      'a null instead of a left-out optional field',
      'hit-sessions',
      { '/note': null },
      { field: '/note', rule: 'type', message: 'must not be null: leave the field out when there is no value' },
    ],
    [
      'an interval longer than 30 minutes',
      'hit-sessions',
      { '/intervals/0/durationSeconds': 1801 },
      { field: '/intervals/0/durationSeconds', rule: 'maximum', message: 'must be at most 1800 seconds' },
    ],
    [
      'a 1RM of zero',
      'hit-sessions',
      { '/strengthSets': [{ exercise: 'leg press', sets: 4, reps: 4, loadKg: 100, oneRepMaxKg: 0 }] },
      { field: '/strengthSets/0/oneRepMaxKg', rule: 'exclusiveMinimum', message: 'must be more than 0 kg' },
    ],
    [
      'an unknown modality, listing the allowed ones',
      'hit-sessions',
      { '/modality': 'swimming' },
      {
        field: '/modality',
        rule: 'enum',
        message: 'must be one of treadmill, cycle, rowing, outdoor-uphill, strength',
      },
    ],
    [
      'an empty exercise name',
      'hit-sessions',
      { '/strengthSets': [{ exercise: '', sets: 4, reps: 4, loadKg: 100 }] },
      { field: '/strengthSets/0/exercise', rule: 'minLength', message: 'must not be empty' },
    ],
    [
      'a note over 2000 characters',
      'hit-sessions',
      { '/note': 'x'.repeat(2001) },
      { field: '/note', rule: 'maxLength', message: 'must be at most 2000 characters long' },
    ],
    [
      'a session id with a "/"',
      'hit-sessions',
      { '/sessionId': 'S/42' },
      {
        field: '/sessionId',
        rule: 'pattern',
        message:
          'must be 1–64 letters (A–Z, a–z), digits, ".", "_" or "-", starting with a letter or digit (no "/" or spaces)',
      },
    ],
    [
      'a national id that is not 11 digits',
      'hit-sessions',
      { '/patient/nationalId': '1503901234' },
      { field: '/patient/nationalId', rule: 'pattern', message: 'must be exactly 11 digits' },
    ],
    [
      'an HPR number with letters',
      'hit-sessions',
      { '/performer/hprNumber': 'HPR91449' },
      { field: '/performer/hprNumber', rule: 'pattern', message: 'must be 4 to 9 digits' },
    ],
    [
      'a date-time without a time-zone offset',
      'hit-sessions',
      { '/endedAt': '2026-03-02T10:45:00' },
      {
        field: '/endedAt',
        rule: 'pattern',
        message:
          'must be a date and time with seconds and a time-zone offset, e.g. 2026-03-02T10:15:00+01:00 or 2026-03-02T09:15:00Z',
      },
    ],
    [
      'a date-time that is no real moment',
      'fitness-tests',
      { '/performedAt': '2026-02-30T10:00:00+01:00' },
      {
        field: '/performedAt',
        rule: 'format',
        message:
          'must be a date and time with seconds and a time-zone offset, e.g. 2026-03-02T10:15:00+01:00 or 2026-03-02T09:15:00Z',
      },
    ],
    [
      'a start that is no real date',
      'prescriptions',
      { '/start': '2026-02-30' },
      { field: '/start', rule: 'format', message: 'must be a real date written YYYY-MM-DD, e.g. 2026-03-02' },
    ],
    [
      'zero weeks, with the unit in the singular',
      'prescriptions',
      { '/weeks': 0 },
      { field: '/weeks', rule: 'minimum', message: 'must be at least 1 week' },
    ],
    [
      'more than 52 weeks',
      'prescriptions',
      { '/weeks': 53 },
      { field: '/weeks', rule: 'maximum', message: 'must be at most 52 weeks' },
    ],
    [
      'eight sessions a week',
      'prescriptions',
      { '/components/0/sessionsPerWeek': 8 },
      { field: '/components/0/sessionsPerWeek', rule: 'maximum', message: 'must be at most 7 sessions a week' },
    ],
    [
      'a prescription without components',
      'prescriptions',
      { '/components': [] },
      { field: '/components', rule: 'minItems', message: 'must list at least one item' },
    ],
    [
      'an interval protocol other than 4x4',
      'prescriptions',
      { '/components/0/protocol': '5x5' },
      { field: '/components/0/protocol', rule: 'const', message: 'must be 4x4' },
    ],
    [
      'an unknown component kind',
      'prescriptions',
      { '/components/0/kind': 'yoga' },
      { field: '/components/0/kind', rule: 'enum', message: 'must be one of interval, strength' },
    ],
    [
      'a strength field on an interval component',
      'prescriptions',
      { '/components/0/sets': 4 },
      { field: '/components/0/sets', rule: 'additionalProperties', message: 'is not a field we know' },
    ],
    [
      'an intensity that is not two numbers',
      'prescriptions',
      { '/components/1/intensityPercent1RM': [85] },
      { field: '/components/1/intensityPercent1RM', rule: 'minItems', message: 'must list exactly 2 items' },
    ],
    [
      'an intensity below 30 % of 1RM',
      'prescriptions',
      { '/components/1/intensityPercent1RM': [25, 90] },
      { field: '/components/1/intensityPercent1RM/0', rule: 'minimum', message: 'must be at least 30 percent of 1RM' },
    ],
    [
      'a VO2max above 100',
      'fitness-tests',
      { '/vo2max': { value: 101, method: 'measured' } },
      { field: '/vo2max/value', rule: 'maximum', message: 'must be at most 100 mL/kg/min' },
    ],
  ])('rejects %s', (_what, kind, changes, expected) => {
    const errors = errorsOf(kind, changes);
    expect(errors).toContainEqual(expected);
    // One message per field: a pattern is not repeated as a length rule, nor a format as a pattern.
    expect(errors.filter((e) => e.field === expected.field)).toHaveLength(1);
  });

  it('rejects more than 30 intervals, naming the list', () => {
    const intervals = Array.from({ length: 31 }, () => ({ durationSeconds: 60 }));
    expect(errorsOf('hit-sessions', { '/intervals': intervals })).toEqual([
      { field: '/intervals', rule: 'maxItems', message: 'must list at most 30 items' },
    ]);
  });

  it('says the whole body must be an object when it is not', () => {
    expect(validator.check('fitness-tests', [FITNESS_TEST])).toEqual([
      { field: '', rule: 'type', message: 'must be an object ({ … })' },
    ]);
  });

  it('names every missing required field of an empty object', () => {
    expect(validator.check('prescriptions', {}).map((e) => e.field)).toEqual([
      '/prescriptionId',
      '/source',
      '/patient',
      '/prescriber',
      '/issuedAt',
      '/start',
      '/weeks',
      '/components',
    ]);
  });

  it('escapes "/" and "~" in an unknown field name, so the pointer stays a pointer', () => {
    expect(validator.check('hit-sessions', { ...HIT_SESSION, 'a~b/c': 1 }).map((e) => e.field)).toEqual(['/a~0b~1c']);
  });
});

describe('rules the schema cannot say', () => {
  it('rejects a national id whose check digits are wrong, naming the field and not repeating the id', () => {
    const wrong = withWrongCheckDigit(NATIONAL_ID);
    const errors = errorsOf('hit-sessions', { '/patient/nationalId': wrong });
    expect(errors).toEqual([
      {
        field: '/patient/nationalId',
        rule: 'national-id',
        message:
          'is not a valid national id: the check digits do not match (the second check digit, digit 11, is wrong)',
      },
    ]);
    expect(JSON.stringify(errors)).not.toContain(wrong);
  });

  it.each<[RecordKind, string, Record<string, unknown>]>([
    ['hit-sessions', '/startedAt', { '/endedAt': '2026-06-01T03:30:00+02:00' }],
    ['fitness-tests', '/performedAt', {}],
    ['prescriptions', '/issuedAt', { '/start': '2026-06-10' }],
  ])('rejects a %s record about someone born after its day in Norway (%s)', (kind, dateField, more) => {
    const changes = { ...more, '/patient/nationalId': BORN_JUNE_2026 };
    // 21:30 UTC on 31 May is 23:30 in Oslo: still 31 May there.
    const errors = errorsOf(kind, { ...changes, [dateField]: '2026-05-31T21:30:00Z' });
    expect(errors).toEqual([
      {
        field: '/patient/nationalId',
        rule: 'national-id',
        message: 'is not a valid national id: the birth date in the id lies in the future',
      },
    ]);
    // 22:30 UTC on 31 May is 00:30 on 1 June in Oslo: the day of birth.
    expect(errorsOf(kind, { ...changes, [dateField]: '2026-05-31T22:30:00Z' })).toEqual([]);
  });

  it('rejects a prescription whose start date lies before the birth date, even if issued later', () => {
    const errors = errorsOf('prescriptions', {
      '/patient/nationalId': BORN_JUNE_2026,
      '/issuedAt': '2026-06-10T12:00:00+02:00',
      '/start': '2026-05-25',
    });
    expect(errors).toEqual([
      {
        field: '/patient/nationalId',
        rule: 'national-id',
        message: 'is not a valid national id: the birth date in the id lies in the future',
      },
    ]);
  });

  it('accepts D-numbers and synthetic test ids', () => {
    expect(validator.check('hit-sessions', STRENGTH_SESSION)).toEqual([]);
    expect(validator.check('hit-sessions', HIT_SESSION)).toEqual([]);
  });

  it('does not add a check-digit complaint to an id the schema already rejected', () => {
    expect(errorsOf('hit-sessions', { '/patient/nationalId': '1234567890x' }).map((e) => e.rule)).toEqual(['pattern']);
  });

  it('rejects a session that ends before it starts, comparing instants across offsets', () => {
    expect(errorsOf('hit-sessions', { '/endedAt': '2026-03-02T08:59:59Z' })).toEqual([
      { field: '/endedAt', rule: 'after-start', message: 'must be after startedAt' },
    ]);
    expect(errorsOf('hit-sessions', { '/endedAt': '2026-03-02T09:00:00Z' })[0]?.rule).toBe('after-start');
    expect(errorsOf('hit-sessions', { '/endedAt': '2026-03-02T09:45:00Z' })).toEqual([]);
  });

  it('rejects a session longer than 6 hours as a wrong date or time', () => {
    expect(errorsOf('hit-sessions', { '/endedAt': '2026-03-03T10:45:00+01:00' })).toEqual([
      {
        field: '/endedAt',
        rule: 'session-length',
        message: 'must be at most 6 hours after startedAt: a longer session is almost certainly a wrong date or time',
      },
    ]);
  });

  it('rejects an interval whose peak heart rate is below its mean', () => {
    expect(errorsOf('hit-sessions', { '/intervals/2/meanHr': 170, '/intervals/2/peakHr': 168 })).toEqual([
      {
        field: '/intervals/2/peakHr',
        rule: 'peak-not-below-mean',
        message: 'must not be below meanHr: the highest heart rate in an interval cannot be lower than its mean',
      },
    ]);
  });

  it("does not compare an interval's peak with a mean the schema already rejected", () => {
    // Only the schema's complaint: 251 breaks the maximum, so "peak below mean" would be noise.
    expect(
      errorsOf('hit-sessions', { '/intervals/2/meanHr': 251, '/intervals/2/peakHr': 168 }).map(
        (e) => `${e.field} ${e.rule}`,
      ),
    ).toEqual(['/intervals/2/meanHr maximum']);
  });

  it('rejects an input id or source with 11 digits in a row, as it could be a national id', () => {
    expect(errorsOf('hit-sessions', { '/sessionId': `S-${NATIONAL_ID}` }).map((e) => `${e.field} ${e.rule}`)).toEqual([
      '/sessionId no-national-id',
    ]);
    expect(errorsOf('hit-sessions', { '/source': `clinic${NATIONAL_ID}` }).map((e) => `${e.field} ${e.rule}`)).toEqual([
      '/source no-national-id',
    ]);
    expect(errorsOf('hit-sessions', { '/sessionId': 'S-2026-0000000042' })).toEqual([]);
  });

  it('rejects more time in the zone than the interval lasted, and accepts up to the whole interval', () => {
    expect(
      errorsOf('hit-sessions', { '/intervals/1/durationSeconds': 240, '/intervals/1/secondsInZone': 241 }),
    ).toEqual([
      {
        field: '/intervals/1/secondsInZone',
        rule: 'within-interval',
        message:
          'must not be longer than durationSeconds: an interval cannot spend more time in the zone than it lasts',
      },
    ]);
    expect(
      errorsOf('hit-sessions', { '/intervals/1/durationSeconds': 240, '/intervals/1/secondsInZone': 240 }),
    ).toEqual([]);
  });

  it('passes what is unusual but possible, for the therapist to see: a short 4x4, a peak above HRmax, a load above an old 1RM', () => {
    expect(
      errorsOf('hit-sessions', {
        '/intervals/3': undefined,
        '/intervals/0/peakHr': 199,
        '/strengthSets': [{ exercise: 'leg press', sets: 4, reps: 4, loadKg: 150, oneRepMaxKg: 140 }],
      }),
    ).toEqual([]);
  });

  it.each<[string, Record<string, unknown>, FieldError]>([
    [
      'a six-minute test without its distance',
      { '/kind': 'six-minute', '/submax': undefined },
      { field: '/sixMinuteDistanceMeters', rule: 'required-for-kind', message: 'is required for a six-minute test' },
    ],
    [
      'a one-rep-max test without results',
      { '/kind': 'one-rep-max', '/submax': undefined },
      { field: '/oneRepMax', rule: 'required-for-kind', message: 'is required for a one-rep-max test' },
    ],
    [
      'a submaximal test with neither the stage nor a VO2max',
      { '/submax': undefined },
      {
        field: '/submax',
        rule: 'required-for-kind',
        message: 'is required for a treadmill-submax test unless vo2max is given',
      },
    ],
    [
      'a maximal test with neither VO2max nor HRmax',
      { '/kind': 'treadmill-max', '/submax': undefined },
      {
        field: '/vo2max',
        rule: 'required-for-kind',
        message: 'is required for a treadmill-max test unless hrMax is given',
      },
    ],
  ])('rejects %s', (_what, changes, expected) => {
    expect(errorsOf('fitness-tests', changes)).toEqual([expected]);
  });

  it('accepts a submaximal test with a VO2max and no stage, and a maximal test with only HRmax', () => {
    expect(errorsOf('fitness-tests', { '/submax': undefined, '/vo2max': { value: 38, method: 'estimated' } })).toEqual(
      [],
    );
    expect(
      errorsOf('fitness-tests', {
        '/kind': 'treadmill-max',
        '/submax': undefined,
        '/hrMax': { bpm: 188, method: 'measured' },
      }),
    ).toEqual([]);
  });

  it('rejects an intensity whose low end is above its high end, and accepts equal ends', () => {
    expect(errorsOf('prescriptions', { '/components/1/intensityPercent1RM': [90, 85] })).toEqual([
      {
        field: '/components/1/intensityPercent1RM',
        rule: 'low-not-above-high',
        message: 'must be [low, high]: the first number is above the second',
      },
    ]);
    expect(errorsOf('prescriptions', { '/components/1/intensityPercent1RM': [85, 85] })).toEqual([]);
  });

  it('checks a goal target in the unit of its measure', () => {
    expect(errorsOf('prescriptions', { '/goals/0/target': 120 })).toEqual([
      { field: '/goals/0/target', rule: 'target-range', message: 'must be 5–100 mL/kg/min for a vo2max goal' },
    ]);
    expect(errorsOf('prescriptions', { '/goals/1/target': 10 })).toEqual([
      { field: '/goals/1/target', rule: 'target-range', message: 'must be 1–7 sessions a week for an attendance goal' },
    ]);
    expect(errorsOf('prescriptions', { '/goals/0/measure': 'one-rep-max', '/goals/0/target': 120 })).toEqual([]);
  });
});

describe('the validator', () => {
  it('lists every failing field at once, schema and domain rules together', () => {
    const errors = errorsOf('hit-sessions', {
      '/patient/nationalId': withWrongCheckDigit(NATIONAL_ID),
      '/modality': 'swim',
      '/intervals/1/peakHr': 300,
      '/intervals/2/peakHr': 100,
      '/borgRpe': 4,
      '/performer': undefined,
      '/colour': 'red',
    });
    expect(errors.map((e) => `${e.field} ${e.rule}`).sort()).toEqual([
      '/borgRpe minimum',
      '/colour additionalProperties',
      '/intervals/1/peakHr maximum',
      '/intervals/2/peakHr peak-not-below-mean',
      '/modality enum',
      '/patient/nationalId national-id',
      '/performer required',
    ]);
  });

  it('returns the input, unchanged, when it is valid', () => {
    const input = structuredClone(PRESCRIPTION);
    expect(validator.validate('prescriptions', input)).toBe(input);
    expect(input).toEqual(PRESCRIPTION);
  });

  it('leaves an invalid input unchanged too (no coercion, no defaults, nothing removed)', () => {
    const input = variant(HIT_SESSION, { '/borgRpe': '17', '/extra': true });
    const before = structuredClone(input);
    expect(() => validator.validate('hit-sessions', input)).toThrow(Problem);
    expect(input).toEqual(before);
  });

  it('throws a 422 invalid-input Problem that lists the fields', () => {
    let thrown: unknown;
    try {
      validator.validate('hit-sessions', variant(HIT_SESSION, { '/borgRpe': 21, '/protocol': '5x5' }));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(Problem);
    expect(JSON.parse(JSON.stringify(thrown))).toEqual({
      type: 'https://hit-bridge.no/problems/invalid-input',
      title: 'The input is not valid',
      status: 422,
      detail: '2 fields break the rules',
      errors: [
        { field: '/protocol', rule: 'enum', message: 'must be one of 4x4, custom' },
        { field: '/borgRpe', rule: 'maximum', message: 'must be at most 20' },
      ],
    });
  });

  it(`lists at most ${MAX_REPORTED_ERRORS} problems and then says how many there were`, () => {
    const junk = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`/unknown${i}`, i]));
    let problem: Problem | undefined;
    try {
      validator.validate('hit-sessions', variant(HIT_SESSION, junk));
    } catch (error) {
      problem = error as Problem;
    }
    expect(problem?.errors).toHaveLength(MAX_REPORTED_ERRORS + 1);
    expect(problem?.errors?.at(-1)).toEqual({
      field: '',
      rule: 'too-many-errors',
      message: `500 problems were found; only the first ${MAX_REPORTED_ERRORS} are listed`,
    });
  });
});
