/**
 * The rules a schema cannot say (check digits, one field against another), as small functions
 * each kind's descriptor (src/kinds/kinds.ts) composes into its own. They run even when the
 * schema found errors (so every failing field is reported at once), but only on fields the schema
 * found sound.
 */
import { osloCalendarDate } from '../../mappings/common.ts';
import { parseHerId } from '../domain/her-id.ts';
import { parseNationalId } from '../domain/national-id.ts';
import type { FieldError } from '../platform/problem.ts';

/** The longest a session may last (startedAt → endedAt); anything longer is a wrong date or time. */
const MAX_SESSION_HOURS = 6;

type Json = Readonly<Record<string, unknown>>;

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// The rules ask for the same few pointers on every input: split each once.
const SEGMENTS = new Map<string, readonly string[]>();

function segmentsOf(pointer: string): readonly string[] {
  let segments = SEGMENTS.get(pointer);
  if (segments === undefined) {
    segments = pointer.split('/').slice(1);
    // Pointers with list indexes vary with the input; only a bounded number are kept.
    if (SEGMENTS.size < 1_000) SEGMENTS.set(pointer, segments);
  }
  return segments;
}

export class RuleContext {
  readonly body: unknown;
  readonly #broken: readonly string[];

  constructor(body: unknown, schemaErrors: readonly FieldError[]) {
    this.body = body;
    this.#broken = schemaErrors.map((e) => e.field);
  }

  /** The value at a JSON pointer made of plain segments, or undefined. */
  get(pointer: string): unknown {
    let value: unknown = this.body;
    for (const segment of segmentsOf(pointer)) {
      if (Array.isArray(value)) value = (value as unknown[])[Number(segment)];
      else if (isObject(value)) value = Object.hasOwn(value, segment) ? value[segment] : undefined;
      else return undefined;
    }
    return value;
  }

  /** True when the schema found nothing wrong at (or under) any of these fields. */
  sound(...pointers: string[]): boolean {
    // A valid input, the common case, has nothing broken: there is nothing to compare.
    if (this.#broken.length === 0) return true;
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

  /**
   * The number at `field` of item `index` of the list at `list`, if sound: what
   * number(`${list}/${index}/${field}`) gives, without building and splitting that pointer for
   * every item of every input (only a broken input needs it, to compare).
   */
  itemNumber(list: string, index: number, field: string): number | undefined {
    const items = this.get(list);
    const item: unknown = Array.isArray(items) ? (items as unknown[])[index] : undefined;
    const value = isObject(item) && Object.hasOwn(item, field) ? item[field] : undefined;
    if (typeof value !== 'number') return undefined;
    return this.#broken.length === 0 || this.sound(`${list}/${index}/${field}`) ? value : undefined;
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

export type Rule = (ctx: RuleContext) => FieldError[];

/**
 * The national id's check digits and date, and that the person was born by the day of the
 * record: the earliest of the given date-time fields (as a calendar day in Norway, as the
 * mappings compute ages) and date fields.
 */
export function nationalIdRule(dateTimeFields: readonly string[], dateFields: readonly string[] = []): Rule {
  return (ctx) => {
    const id = ctx.string('/patient/nationalId');
    if (id === undefined) return [];
    // The earliest day (YYYY-MM-DD compares as text), without a list per input.
    let asOf: string | undefined;
    const consider = (day: string | undefined): void => {
      if (day !== undefined && (asOf === undefined || day < asOf)) asOf = day;
    };
    for (const field of dateTimeFields) {
      const value = ctx.string(field);
      consider(value === undefined ? undefined : osloDay(value));
    }
    for (const field of dateFields) consider(ctx.string(field));
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

export const sessionTimes: Rule = (ctx) => {
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

export const peakNotBelowMean: Rule = (ctx) =>
  ctx.indexes('/intervals').flatMap((i) => {
    const mean = ctx.itemNumber('/intervals', i, 'meanHr');
    const peak = ctx.itemNumber('/intervals', i, 'peakHr');
    if (mean === undefined || peak === undefined || peak >= mean) return [];
    return [
      {
        field: `/intervals/${i}/peakHr`,
        rule: 'peak-not-below-mean',
        message: 'must not be below meanHr: the highest heart rate in an interval cannot be lower than its mean',
      },
    ];
  });

export const timeInZoneWithinInterval: Rule = (ctx) =>
  ctx.indexes('/intervals').flatMap((i) => {
    const inZone = ctx.itemNumber('/intervals', i, 'secondsInZone');
    const duration = ctx.itemNumber('/intervals', i, 'durationSeconds');
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
export const resultForKind: Rule = (ctx) => {
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

export const intensityLowNotAboveHigh: Rule = (ctx) =>
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

export const goalTargetRange: Rule = (ctx) =>
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
export const idsCarryNoNationalId =
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

export const all =
  (...rules: Rule[]): Rule =>
  (ctx) => {
    // A loop, not flatMap: on a valid input every rule answers an empty list, and there is
    // nothing to copy.
    const errors: FieldError[] = [];
    for (const rule of rules) {
      const found = rule(ctx);
      if (found.length > 0) errors.push(...found);
    }
    return errors;
  };

/** A HER-id named for the Frisklivssentral must be one (digits; UNCONFIRMED length, see her-id.ts). */
export const herIdRule: Rule = (ctx) => {
  const herId = ctx.string('/recipients/frisklivssentral/herId');
  if (herId === undefined) return [];
  const parsed = parseHerId(herId);
  return parsed.ok
    ? []
    : [{ field: '/recipients/frisklivssentral/herId', rule: 'her-id', message: `is not a HER-id: ${parsed.reason}` }];
};

/** Contact details without a way to reach anyone are no contact. */
export const contactReachable =
  (...pointers: string[]): Rule =>
  (ctx) =>
    pointers.flatMap((pointer) =>
      ctx.present(pointer) && ctx.sound(pointer) && !ctx.present(`${pointer}/phone`) && !ctx.present(`${pointer}/email`)
        ? [{ field: pointer, rule: 'reachable', message: 'must give a phone number or an e-mail address (or both)' }]
        : [],
    );

/** The Physical Activity IG's Task rule pa-taskrm-1: these statuses need a statusReason. */
const STATUSES_NEEDING_A_REASON = new Set(['rejected', 'on-hold', 'failed']);

export const reasonForStatus: Rule = (ctx) => {
  const status = ctx.string('/status');
  if (status === undefined || !STATUSES_NEEDING_A_REASON.has(status) || ctx.present('/reason')) return [];
  return [{ field: '/reason', rule: 'required-for-status', message: `is required when status is ${status}` }];
};
