/**
 * Input validation, in one place: the JSON Schemas in contracts/schemas/ (compiled once, when the
 * app is created), then the rules a schema cannot say (check digits, one field against another).
 * Every failing field is reported together, each with the rule broken and a reason in plain
 * words for the person fixing the sending system — never ajv's own wording, and never the
 * value itself (it may be a national id).
 *
 * What is rejected is what is really wrong: a wrong national id, an end before the start, a
 * peak heart rate below the mean, a test without its result. What is merely unusual and worth a
 * therapist's attention — a peak above HRmax, a "4x4" session with three intervals, a load
 * above an old 1RM — passes; the mappings flag it.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { osloCalendarDate, type EhrProfile } from '../../mappings/common.ts';
import { EPISODE_FIELD } from '../../mappings/dips-arena.ts';
import { parseHerId } from '../domain/her-id.ts';
import { parseNationalId } from '../domain/national-id.ts';
import { INPUT_KINDS, isRecordKind, type InputKind, type Inputs } from '../kinds/kinds.ts';
import { invalidInput, type FieldError } from '../platform/problem.ts';

/** The input schemas as parsed JSON, by input kind (see contracts.ts for loading them). */
export type InputSchemas = { readonly [K in InputKind]: Readonly<Record<string, unknown>> };

export interface InputValidator {
  /**
   * The input, typed, if it is valid; otherwise throws a 422 Problem listing every failing field.
   * The EHR profile the record is for (default generic) may require more (profileRules).
   */
  validate<K extends InputKind>(kind: K, body: unknown, profile?: EhrProfile): Inputs[K];
  /** Every failing field (empty when the input is valid); for tests and tools. */
  check(kind: InputKind, body: unknown, profile?: EhrProfile): FieldError[];
}

/** More errors than this and the rest are summarised: a body can have thousands of unknown fields. */
export const MAX_REPORTED_ERRORS = 100;

/** The longest a session may last (startedAt → endedAt); anything longer is a wrong date or time. */
export const MAX_SESSION_HOURS = 6;

/** Schema annotation naming a number's unit in words, for the messages ("at most 250 beats per minute"). */
export const UNIT_KEYWORD = 'x-unit';

export function createInputValidator(schemas: InputSchemas): InputValidator {
  // No coercion, no defaults, no removal: validation never changes the input it is given.
  const ajv = new Ajv2020({ allErrors: true, verbose: true, strict: true });
  addFormats.default(ajv, ['date', 'date-time']);
  ajv.addKeyword({ keyword: UNIT_KEYWORD, schemaType: 'string' });
  const compiled = Object.fromEntries(INPUT_KINDS.map((kind) => [kind, ajv.compile(schemas[kind])])) as Record<
    InputKind,
    ValidateFunction
  >;

  const check = (kind: InputKind, body: unknown, profile: EhrProfile = 'generic'): FieldError[] => {
    const validateSchema = compiled[kind];
    const schemaErrors = validateSchema(body) ? [] : describeSchemaErrors(validateSchema.errors ?? []);
    const context = new RuleContext(body, schemaErrors);
    return [...schemaErrors, ...RULES[kind](context), ...profileRules(kind, profile, context)];
  };

  return {
    check,
    validate<K extends InputKind>(kind: K, body: unknown, profile?: EhrProfile): Inputs[K] {
      const errors = check(kind, body, profile);
      if (errors.length > 0) throw invalidInput(capped(errors));
      return body as Inputs[K];
    },
  };
}

function capped(errors: readonly FieldError[]): FieldError[] {
  if (errors.length <= MAX_REPORTED_ERRORS) return [...errors];
  return [
    ...errors.slice(0, MAX_REPORTED_ERRORS),
    {
      field: '',
      rule: 'too-many-errors',
      message: `${errors.length} problems were found; only the first ${MAX_REPORTED_ERRORS} are listed`,
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// Schema errors in plain words

const ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';
const DATE_TIME_PATTERN = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:\\d{2})$';
const PHONE_PATTERN = '^\\+?\\d[\\d ]{6,18}\\d$';
const EMAIL_PATTERN = '^[^@\\s]{1,64}@[^@\\s]+\\.[^@\\s]+$';
const UUID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';
const DATE_TIME_WORDS =
  'must be a date and time with seconds and a time-zone offset, e.g. 2026-03-02T10:15:00+01:00 or 2026-03-02T09:15:00Z';

/** What each pattern in the schemas means, in words (a unit test checks every pattern has words). */
const PATTERN_WORDS: Readonly<Record<string, string>> = {
  [ID_PATTERN]:
    'must be 1–64 letters (A–Z, a–z), digits, ".", "_" or "-", starting with a letter or digit (no "/" or spaces)',
  '^\\d{11}$': 'must be exactly 11 digits',
  '^\\d{4,9}$': 'must be 4 to 9 digits',
  [DATE_TIME_PATTERN]: DATE_TIME_WORDS,
  '^\\d{4}$': 'must be exactly 4 digits (a kommunenummer, e.g. 5001)',
  '^\\d{1,9}$': 'must be 1 to 9 digits',
  [PHONE_PATTERN]: 'must be a phone number: 8–20 digits and spaces, optionally starting with +, e.g. "+47 400 00 001"',
  [EMAIL_PATTERN]: 'must be an e-mail address like name@example.no',
  [UUID_PATTERN]: 'must be a lower-case UUID, e.g. 0b8e7c52-6f0e-4c6a-9d5e-2f1c3a4b5d6e',
};

const FORMAT_WORDS: Readonly<Record<string, string>> = {
  'date-time': DATE_TIME_WORDS,
  date: 'must be a real date written YYYY-MM-DD, e.g. 2026-03-02',
};

const TYPE_WORDS: Readonly<Record<string, string>> = {
  integer: 'must be a whole number',
  number: 'must be a number',
  string: 'must be text (a JSON string)',
  object: 'must be an object ({ … })',
  array: 'must be a list ([ … ])',
  boolean: 'must be true or false',
};

export function patternWords(pattern: string): string | undefined {
  return PATTERN_WORDS[pattern];
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

function describeSchemaErrors(errors: readonly ErrorObject[]): FieldError[] {
  const described: FieldError[] = [];
  for (const error of errors) {
    const one = describeSchemaError(error);
    if (one !== undefined) described.push(one);
  }
  // One field, one message: a length error says less than the pattern or format error beside it,
  // and a pattern and a format may say the same thing.
  const shaped = new Set(described.filter((e) => e.rule === 'pattern' || e.rule === 'format').map((e) => e.field));
  const seen = new Set<string>();
  return described.filter((e) => {
    if ((e.rule === 'minLength' || e.rule === 'maxLength') && shaped.has(e.field)) return false;
    const key = `${e.field}\u0000${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function describeSchemaError(error: ErrorObject): FieldError | undefined {
  const params = error.params as Record<string, unknown>;
  const schema = (error.parentSchema ?? {}) as Record<string, unknown>;
  const at = (rule: string, message: string): FieldError => ({ field: error.instancePath, rule, message });
  const limit = String(params.limit);
  const unit = typeof schema[UNIT_KEYWORD] === 'string' ? ` ${unitWords(schema[UNIT_KEYWORD], params.limit)}` : '';
  switch (error.keyword) {
    case 'required':
      return {
        field: `${error.instancePath}/${escapePointer(String(params.missingProperty))}`,
        rule: 'required',
        message: 'is required',
      };
    case 'additionalProperties':
      return {
        field: `${error.instancePath}/${escapePointer(String(params.additionalProperty))}`,
        rule: 'additionalProperties',
        message: 'is not a field we know',
      };
    case 'type':
      if (error.data === null) return at('type', 'must not be null: leave the field out when there is no value');
      return at('type', TYPE_WORDS[String(params.type)] ?? `must be of type ${String(params.type)}`);
    case 'minimum':
      return at('minimum', `must be at least ${limit}${unit}`);
    case 'maximum':
      return at('maximum', `must be at most ${limit}${unit}`);
    case 'exclusiveMinimum':
      return at('exclusiveMinimum', `must be more than ${limit}${unit}`);
    case 'exclusiveMaximum':
      return at('exclusiveMaximum', `must be less than ${limit}${unit}`);
    case 'enum':
      return at('enum', `must be one of ${(params.allowedValues as unknown[]).map(String).join(', ')}`);
    case 'const':
      return at('const', `must be ${String(params.allowedValue)}`);
    case 'minLength':
      if (params.limit === 1) return at('minLength', 'must not be empty');
      if (schema.maxLength === params.limit) return at('minLength', `must be exactly ${limit} characters long`);
      return at('minLength', `must be at least ${limit} characters long`);
    case 'maxLength':
      return at('maxLength', `must be at most ${limit} characters long`);
    case 'pattern':
      return at('pattern', patternWords(String(params.pattern)) ?? 'does not have the form the schema asks for');
    case 'format':
      return at('format', FORMAT_WORDS[String(params.format)] ?? `must be a valid ${String(params.format)}`);
    case 'minItems':
    case 'maxItems':
    case 'items':
      return at(error.keyword === 'items' ? 'maxItems' : error.keyword, itemCountWords(error.keyword, schema, params));
    case 'if':
      // "must match the then schema": the errors from inside the branch already say what.
      return undefined;
    default:
      return at(error.keyword, `breaks the schema rule "${error.keyword}"`);
  }
}

/** "1 week", not "1 weeks". */
function unitWords(unit: string, count: unknown): string {
  return count === 1 ? unit.replace(/^(second|minute|set|repetition|session|week|metre)s\b/, '$1') : unit;
}

function itemCountWords(keyword: string, schema: Record<string, unknown>, params: Record<string, unknown>): string {
  const { minItems, maxItems } = schema;
  if (typeof minItems === 'number' && minItems === maxItems) {
    return `must list exactly ${minItems} ${minItems === 1 ? 'item' : 'items'}`;
  }
  if (keyword === 'minItems') {
    return params.limit === 1 ? 'must list at least one item' : `must list at least ${String(params.limit)} items`;
  }
  return `must list at most ${String(keyword === 'items' ? maxItems : params.limit)} items`;
}

// ---------------------------------------------------------------------------------------------
// Rules a schema cannot say. They run even when the schema found errors (so every failing field
// is reported at once), but only on fields the schema found sound.

type Json = Readonly<Record<string, unknown>>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class RuleContext {
  readonly body: unknown;
  readonly #broken: readonly string[];

  constructor(body: unknown, schemaErrors: readonly FieldError[]) {
    this.body = body;
    this.#broken = schemaErrors.map((e) => e.field);
  }

  /** The value at a JSON pointer made of plain segments, or undefined. */
  get(pointer: string): unknown {
    let value: unknown = this.body;
    for (const segment of pointer.split('/').slice(1)) {
      if (Array.isArray(value)) value = (value as unknown[])[Number(segment)];
      else if (isObject(value)) value = Object.hasOwn(value, segment) ? value[segment] : undefined;
      else return undefined;
    }
    return value;
  }

  /** True when the schema found nothing wrong at (or under) any of these fields. */
  sound(...pointers: string[]): boolean {
    return pointers.every((p) => !this.#broken.some((field) => field === p || field.startsWith(`${p}/`)));
  }

  string(pointer: string): string | undefined {
    const value = this.get(pointer);
    return typeof value === 'string' && this.sound(pointer) ? value : undefined;
  }

  number(pointer: string): number | undefined {
    const value = this.get(pointer);
    return typeof value === 'number' && this.sound(pointer) ? value : undefined;
  }

  /** Indexes of the list at a pointer (none if it is not a list). */
  indexes(pointer: string): number[] {
    const value = this.get(pointer);
    return Array.isArray(value) ? value.map((_, i) => i) : [];
  }

  present(pointer: string): boolean {
    return this.get(pointer) !== undefined;
  }
}

type Rule = (ctx: RuleContext) => FieldError[];

/**
 * The national id's check digits and date, and that the person was born by the day of the
 * record: the earliest of the given date-time fields (as a calendar day in Norway, as the
 * mappings compute ages) and date fields.
 */
function nationalIdRule(dateTimeFields: readonly string[], dateFields: readonly string[] = []): Rule {
  return (ctx) => {
    const id = ctx.string('/patient/nationalId');
    if (id === undefined) return [];
    const days = [
      ...dateTimeFields
        .map((field) => ctx.string(field))
        .map((value) => (value === undefined ? value : osloDay(value))),
      ...dateFields.map((field) => ctx.string(field)),
    ].filter((day): day is string => day !== undefined);
    const asOf = days.sort()[0];
    const parsed = parseNationalId(id, asOf === undefined ? {} : { asOf });
    if (parsed.ok) return [];
    return [
      { field: '/patient/nationalId', rule: 'national-id', message: `is not a valid national id: ${parsed.reason}` },
    ];
  };
}

/** The calendar day in Norway of a date-time the schema accepted, or undefined if it is no instant. */
function osloDay(dateTime: string): string | undefined {
  return Number.isFinite(Date.parse(dateTime)) ? osloCalendarDate(dateTime) : undefined;
}

const sessionTimes: Rule = (ctx) => {
  const started = ctx.string('/startedAt');
  const ended = ctx.string('/endedAt');
  if (started === undefined || ended === undefined) return [];
  const from = Date.parse(started);
  const to = Date.parse(ended);
  if (!Number.isFinite(from) || !Number.isFinite(to)) return [];
  if (to <= from) return [{ field: '/endedAt', rule: 'after-start', message: 'must be after startedAt' }];
  if (to - from > MAX_SESSION_HOURS * 3_600_000) {
    return [
      {
        field: '/endedAt',
        rule: 'session-length',
        message: `must be at most ${MAX_SESSION_HOURS} hours after startedAt: a longer session is almost certainly a wrong date or time`,
      },
    ];
  }
  return [];
};

const peakNotBelowMean: Rule = (ctx) =>
  ctx.indexes('/intervals').flatMap((i) => {
    const mean = ctx.number(`/intervals/${i}/meanHr`);
    const peak = ctx.number(`/intervals/${i}/peakHr`);
    if (mean === undefined || peak === undefined || peak >= mean) return [];
    return [
      {
        field: `/intervals/${i}/peakHr`,
        rule: 'peak-not-below-mean',
        message: 'must not be below meanHr: the highest heart rate in an interval cannot be lower than its mean',
      },
    ];
  });

const timeInZoneWithinInterval: Rule = (ctx) =>
  ctx.indexes('/intervals').flatMap((i) => {
    const inZone = ctx.number(`/intervals/${i}/secondsInZone`);
    const duration = ctx.number(`/intervals/${i}/durationSeconds`);
    if (inZone === undefined || duration === undefined || inZone <= duration) return [];
    return [
      {
        field: `/intervals/${i}/secondsInZone`,
        rule: 'within-interval',
        message:
          'must not be longer than durationSeconds: an interval cannot spend more time in the zone than it lasts',
      },
    ];
  });

/** A test must carry the result its kind produces; which one is in the schema's description. */
const resultForKind: Rule = (ctx) => {
  const kind = ctx.string('/kind');
  const missing = (field: string, message: string): FieldError[] =>
    ctx.present(field) ? [] : [{ field, rule: 'required-for-kind', message }];
  switch (kind) {
    case 'six-minute':
      return missing('/sixMinuteDistanceMeters', 'is required for a six-minute test');
    case 'one-rep-max':
      return missing('/oneRepMax', 'is required for a one-rep-max test');
    case 'treadmill-submax':
      return ctx.present('/vo2max')
        ? []
        : missing('/submax', 'is required for a treadmill-submax test unless vo2max is given');
    case 'treadmill-max':
      return ctx.present('/hrMax')
        ? []
        : missing('/vo2max', 'is required for a treadmill-max test unless hrMax is given');
    default:
      return [];
  }
};

const intensityLowNotAboveHigh: Rule = (ctx) =>
  ctx.indexes('/components').flatMap((i) => {
    const field = `/components/${i}/intensityPercent1RM`;
    const low = ctx.number(`${field}/0`);
    const high = ctx.number(`${field}/1`);
    if (!ctx.sound(field) || low === undefined || high === undefined || low <= high) return [];
    return [
      { field, rule: 'low-not-above-high', message: 'must be [low, high]: the first number is above the second' },
    ];
  });

/** Goal targets in the unit of their measure (one-rep-max's kg range is the schema's own). */
const GOAL_RANGES: Readonly<Record<string, { min: number; max: number; words: string }>> = {
  vo2max: { min: 5, max: 100, words: 'must be 5–100 mL/kg/min for a vo2max goal' },
  attendance: { min: 1, max: 7, words: 'must be 1–7 sessions a week for an attendance goal' },
};

const goalTargetRange: Rule = (ctx) =>
  ctx.indexes('/goals').flatMap((i) => {
    const measure = ctx.string(`/goals/${i}/measure`);
    const target = ctx.number(`/goals/${i}/target`);
    const range = measure === undefined ? undefined : GOAL_RANGES[measure];
    if (range === undefined || target === undefined || (target >= range.min && target <= range.max)) return [];
    return [{ field: `/goals/${i}/target`, rule: 'target-range', message: range.words }];
  });

/**
 * Ids travel where personal data must not: event payloads, Kafka, logs, business identifiers.
 * 11 digits in a row could be a national id a sending system put in the wrong field.
 */
const idsCarryNoNationalId =
  (...fields: string[]): Rule =>
  (ctx) =>
    fields.flatMap((field) =>
      /\d{11}/.test(ctx.string(field) ?? '')
        ? [
            {
              field,
              rule: 'no-national-id',
              message:
                'must not contain 11 digits in a row: it could be a national id, and ids are carried in events and logs',
            },
          ]
        : [],
    );

const all =
  (...rules: Rule[]): Rule =>
  (ctx) =>
    rules.flatMap((rule) => rule(ctx));

/** A HER-id named for the Frisklivssentral must be one (digits; UNCONFIRMED length, see her-id.ts). */
const herIdRule: Rule = (ctx) => {
  const herId = ctx.string('/recipients/frisklivssentral/herId');
  if (herId === undefined) return [];
  const parsed = parseHerId(herId);
  return parsed.ok
    ? []
    : [{ field: '/recipients/frisklivssentral/herId', rule: 'her-id', message: `is not a HER-id: ${parsed.reason}` }];
};

/** Contact details without a way to reach anyone are no contact. */
const contactReachable =
  (...pointers: string[]): Rule =>
  (ctx) =>
    pointers.flatMap((pointer) =>
      ctx.present(pointer) && ctx.sound(pointer) && !ctx.present(`${pointer}/phone`) && !ctx.present(`${pointer}/email`)
        ? [{ field: pointer, rule: 'reachable', message: 'must give a phone number or an e-mail address (or both)' }]
        : [],
    );

/** The Physical Activity IG's Task rule pa-taskrm-1: these statuses need a statusReason. */
const STATUSES_NEEDING_A_REASON = new Set(['rejected', 'on-hold', 'failed']);

const reasonForStatus: Rule = (ctx) => {
  const status = ctx.string('/status');
  if (status === undefined || !STATUSES_NEEDING_A_REASON.has(status) || ctx.present('/reason')) return [];
  return [{ field: '/reason', rule: 'required-for-status', message: `is required when status is ${status}` }];
};

const RULES: Readonly<Record<InputKind, Rule>> = {
  'hit-sessions': all(
    nationalIdRule(['/startedAt']),
    idsCarryNoNationalId('/source', '/sessionId', '/prescriptionId'),
    sessionTimes,
    peakNotBelowMean,
    timeInZoneWithinInterval,
  ),
  'fitness-tests': all(nationalIdRule(['/performedAt']), idsCarryNoNationalId('/source', '/testId'), resultForKind),
  // The prescription mapping computes the age on the start date, which may precede the issue date.
  prescriptions: all(
    nationalIdRule(['/issuedAt'], ['/start']),
    idsCarryNoNationalId('/source', '/prescriptionId'),
    intensityLowNotAboveHigh,
    goalTargetRange,
  ),
  discharges: all(
    nationalIdRule(['/dischargedAt']),
    idsCarryNoNationalId('/source', '/dischargeId', '/prescriptionId'),
    herIdRule,
    // A training contact may be known by name only (the Frisklivssentral puts them in touch).
    contactReachable('/hospitalContact'),
  ),
  'handover-acknowledgements': all(idsCarryNoNationalId('/reason', '/by'), reasonForStatus),
};

/**
 * What an EHR profile needs beyond the schema: DIPS Arena records every procedure on a care
 * episode only the sender knows (docs/adr/0021-dips-arena-profile.md), so under dips-arena every
 * record must name it, even those DIPS takes nothing of, so that what hit-bridge keeps of them
 * can be put on the right episode later.
 */
function profileRules(kind: InputKind, profile: EhrProfile, ctx: RuleContext): FieldError[] {
  if (profile !== 'dips-arena' || !isRecordKind(kind) || !isObject(ctx.body)) return [];
  const pointer = `/${EPISODE_FIELD}`;
  if (ctx.present(pointer)) return [];
  return [
    {
      field: pointer,
      rule: 'required-by-ehr-profile',
      message:
        'is required: this hit-bridge delivers to DIPS Arena (EHR profile dips-arena), which records every procedure on a care episode (omsorgsepisode); send the DIPS care episode id the record belongs to',
    },
  ];
}
