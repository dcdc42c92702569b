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
import type { EhrProfile } from '../../mappings/common.ts';
import { EPISODE_FIELD } from '../../mappings/dips-arena.ts';
import { INPUT_KINDS, isRecordKind, rulesOf, type InputKind, type Inputs } from '../kinds/kinds.ts';
import { isObject, RuleContext } from './input-rules.ts';
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

/** Schema annotation naming a number's unit in words, for the messages ("at most 250 beats per minute"). */
const UNIT_KEYWORD = 'x-unit';

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
    const ruleErrors = rulesOf(kind)(context);
    const profileErrors = profileRules(kind, profile, context);
    // Most inputs are valid: then all three lists are empty and there is nothing to join.
    if (ruleErrors.length === 0 && profileErrors.length === 0) return schemaErrors;
    return [...schemaErrors, ...ruleErrors, ...profileErrors];
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
