/**
 * The message browser's and the bulk replay's filter, read from a query string or a JSON body
 * (pure: unit-tested on its own). Every field is checked and every broken one named; a field
 * nobody asked for is refused rather than ignored — a mistyped filter must never widen a bulk
 * replay to everything.
 */
import { fullFormats } from 'ajv-formats/dist/formats.js';
import { PATIENT_KEY_PATTERN } from '../events/patient-key.ts';
import type { FieldError } from '../platform/problem.ts';
import { SUBMISSION_KINDS } from '../kinds/kinds.ts';
import {
  FAILURE_REASONS,
  type SubmissionCursor,
  type SubmissionFilter,
  type SubmissionStatus,
} from '../store/store.ts';

const FILTER_FIELDS = [
  'status',
  'kind',
  'source',
  'since',
  'until',
  'patientKey',
  'failureReason',
  'ehrStatus',
  'errorText',
] as const;

const STATUSES: readonly SubmissionStatus[] = ['accepted', 'delivered', 'failed'];
/**
 * RFC 3339: a date, or a date and time with its zone (an ambiguous local time is refused) — the
 * same date-time rule as the input schemas (ajv-formats), so what the OpenAPI document calls a
 * date-time is taken.
 */
const DATE_TIME = fullFormats['date-time'] as { validate: (value: string) => boolean };
const isDateTime = (value: string): boolean => DATE_TIME.validate(value) || /^\d{4}-\d{2}-\d{2}$/.test(value);
const SOURCE = /^[\x21-\x7e]{1,128}$/;

export type Fields = Readonly<Record<string, unknown>>;

export type Parsed<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly errors: FieldError[] };

/**
 * The filter in `fields` (values as strings from a query, or as JSON values from a body); `at`
 * turns a field name into the pointer an error names ("/query/status", "/status").
 */
export function parseFilter(
  fields: Fields,
  at: (field: string) => string,
  extra: readonly string[] = [],
): Parsed<SubmissionFilter> {
  const errors: FieldError[] = [];
  const fail = (field: string, rule: string, message: string): void => {
    errors.push({ field: at(field), rule, message });
  };
  for (const name of Object.keys(fields)) {
    if (!(FILTER_FIELDS as readonly string[]).includes(name) && !extra.includes(name)) {
      fail(name, 'unknown', `${name} is not a filter; the filters are ${FILTER_FIELDS.join(', ')}.`);
    }
  }
  const text = (name: string): string | undefined => {
    const value = fields[name];
    if (value === undefined) return undefined;
    if (typeof value === 'string') return value;
    fail(name, 'type', `${name} must be a string.`);
    return undefined;
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[]): T | undefined => {
    const value = text(name);
    if (value === undefined) return undefined;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    fail(name, 'enum', `${name} must be one of ${allowed.join(', ')}.`);
    return undefined;
  };
  const time = (name: string): Date | undefined => {
    const value = text(name);
    if (value === undefined) return undefined;
    const parsed = new Date(value);
    if (isDateTime(value) && !Number.isNaN(parsed.getTime())) return parsed;
    fail(
      name,
      'format',
      `${name} must be a date (2026-11-23) or a date and time with its zone (2026-11-23T08:00:00Z).`,
    );
    return undefined;
  };

  const source = text('source');
  if (source !== undefined && !SOURCE.test(source))
    fail('source', 'pattern', 'source must be 1–128 visible ASCII characters.');
  const patientKey = text('patientKey');
  if (patientKey !== undefined && !PATIENT_KEY_PATTERN.test(patientKey)) {
    fail(
      'patientKey',
      'pattern',
      /^\d{11}$/.test(patientKey)
        ? 'patientKey is the pseudonymous patient key (43 characters, as in the events), never a national id.'
        : 'patientKey must be the pseudonymous patient key: 43 characters of A–Z, a–z, 0–9, _ and -.',
    );
  }
  // No check for national ids here: the query is neither logged nor audited, and the failure text
  // searched has national ids redacted already, so one typed in can match nothing.
  const errorText = text('errorText');
  if (errorText !== undefined && (errorText.length < 1 || errorText.length > 200)) {
    fail('errorText', 'length', 'errorText must be 1–200 characters.');
  }
  const ehrStatus = integer(fields.ehrStatus);
  if (fields.ehrStatus !== undefined && (ehrStatus === undefined || ehrStatus < 100 || ehrStatus > 599)) {
    fail('ehrStatus', 'range', 'ehrStatus must be an HTTP status, 100–599.');
  }
  const filter: SubmissionFilter = {
    status: oneOf('status', STATUSES),
    kind: oneOf('kind', SUBMISSION_KINDS),
    source,
    since: time('since'),
    until: time('until'),
    patientKey,
    failureReason: oneOf('failureReason', FAILURE_REASONS),
    ehrStatus,
    errorText,
  };
  return errors.length === 0 ? { ok: true, value: withoutUndefined(filter) } : { ok: false, errors };
}

/** A whole number, from a JSON number or a query's digits. */
function integer(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) ? value : undefined;
  if (typeof value === 'string' && /^\d{1,9}$/.test(value)) return Number(value);
  return undefined;
}

function withoutUndefined(filter: SubmissionFilter): SubmissionFilter {
  return Object.fromEntries(Object.entries(filter).filter(([, value]) => value !== undefined));
}

/**
 * The cursor names the last row of a page: its acceptance time (epoch milliseconds) and id,
 * `<ms>_<uuid>`. Readable on purpose: nothing in it is personal, and any cursor of that shape
 * is a valid place to start (keyset paging needs no state on the server).
 */
export function encodeCursor(cursor: SubmissionCursor): string {
  return `${String(cursor.acceptedAt.getTime())}_${cursor.id}`;
}

const CURSOR = /^(\d{1,15})_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

export function decodeCursor(text: string): SubmissionCursor | undefined {
  const match = CURSOR.exec(text);
  if (match === null) return undefined;
  const acceptedAt = new Date(Number(match[1]));
  return Number.isNaN(acceptedAt.getTime()) ? undefined : { acceptedAt, id: match[2] ?? '' };
}
