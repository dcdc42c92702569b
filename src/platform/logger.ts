/**
 * The one root logger, and the log context every line carries.
 *
 * Context: a request, or a worker's job, runs inside withLogContext({ requestId } / { submissionId });
 * every line logged inside it, by any module (the EHR adapter, the Kafka client), carries those
 * fields: pino's mixin reads them from an AsyncLocalStorage. One way only: requestId and
 * submissionId are never bound with logger.child() (pino would write the key twice).
 *
 * Redaction, by LOG_REDACT (national-id, name, phone, email; default all), twice over:
 * - by path: fields named for personal data are replaced wherever they sit in a logged object;
 * - by value: every string of a line (the message too) is scrubbed of what looks like a national
 *   id, a phone number or an e-mail address, and of the personal values of the input being
 *   handled (addPersonalValues), so a name the EHR echoes in a diagnostic is caught as well.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { pino, type DestinationStream, type Logger } from 'pino';
import { activeTraceId } from './tracing.ts';
import {
  knownValuesPattern,
  personalValuesOf,
  REDACT_CATEGORIES,
  scrubDeep,
  scrubText,
  type RedactCategory,
} from './redaction.ts';

export type { Logger } from 'pino';

const PATH_KEYS: Readonly<Record<RedactCategory, readonly string[]>> = {
  'national-id': ['nationalId'],
  name: ['givenName', 'familyName', 'fullName'],
  phone: ['phone'],
  email: ['email'],
};
const PERSONS = ['patient', 'trainingContact', 'hospitalContact'];
const atAnyDepth = (key: string): string[] => [key, `*.${key}`, `*.*.${key}`, `*.*.*.${key}`];

/** Paths of personal data replaced in every logged object, for the chosen categories. */
function redactedPaths(categories: readonly RedactCategory[] = REDACT_CATEGORIES): string[] {
  const paths = categories.flatMap((category) => PATH_KEYS[category].flatMap(atAnyDepth));
  if (categories.includes('name')) paths.push(...PERSONS.flatMap((person) => atAnyDepth(`${person}.name`)));
  // With every category on, an object that describes a person goes whole: nothing in it is needed to operate.
  if (REDACT_CATEGORIES.every((category) => categories.includes(category))) {
    paths.push(...PERSONS.flatMap((person) => [person, `*.${person}`, `*.*.${person}`]));
  }
  return [...new Set([...paths, 'req.headers.authorization', 'req.headers.cookie'])];
}

interface LogContext {
  readonly fields: Record<string, string | number>;
  readonly personal: { value: string; category: RedactCategory }[];
  /** The pattern for `personal`, built on first use after a change. */
  known?: RegExp | undefined;
  knownFor?: string | undefined;
}

const storage = new AsyncLocalStorage<LogContext>();

/** Runs `fn` with these fields on every line logged inside it (and what it awaits), on top of the outer context's. */
export function withLogContext<T>(fields: Readonly<Record<string, string | number>>, fn: () => T): T {
  const outer = storage.getStore();
  return storage.run({ fields: { ...outer?.fields, ...fields }, personal: [...(outer?.personal ?? [])] }, fn);
}

/** Adds fields to the current context (e.g. the submission id, once the store has given one). */
export function addLogContext(fields: Readonly<Record<string, string | number>>): void {
  const current = storage.getStore();
  if (current !== undefined) Object.assign(current.fields, fields);
}

/**
 * The fields of the current context, live: what addLogContext adds later shows in it too (for a
 * line written from a callback that runs outside the context, like a response's 'finish').
 */
export function currentLogContext(): Readonly<Record<string, string | number>> {
  return storage.getStore()?.fields ?? {};
}

/** The input being handled: its national id, names, phone and e-mail are scrubbed from every line in this context. */
export function addPersonalValues(input: unknown): void {
  const current = storage.getStore();
  if (current === undefined) return;
  current.personal.push(...personalValuesOf(input));
  current.known = undefined;
  current.knownFor = undefined;
}

function knownPattern(categories: readonly RedactCategory[]): RegExp | undefined {
  const current = storage.getStore();
  if (current === undefined || current.personal.length === 0) return undefined;
  const key = categories.join(',');
  if (current.knownFor !== key) {
    current.known = knownValuesPattern(current.personal, categories);
    current.knownFor = key;
  }
  return current.known;
}

export interface LoggerOptions {
  readonly level: string;
  readonly pretty: boolean;
  /** What is personal data to remove (LOG_REDACT); default every category. */
  readonly redact?: readonly RedactCategory[];
  /** Where lines go; default stdout. Tests pass a stream and parse the JSON lines. */
  readonly destination?: DestinationStream;
}

/**
 * Keys whose values are personal wherever they sit: what the redaction paths name, as a set, for
 * the request line (flat, so one look per key replaces the paths' walk).
 */
function redactedKeys(categories: readonly RedactCategory[]): ReadonlySet<string> {
  return new Set(redactedPaths(categories).map((path) => path.slice(path.lastIndexOf('.') + 1)));
}

/** How a logger made by createLogger writes the request line: a plain twin on the same stream. */
interface RequestLineWriter {
  readonly plain: Logger;
  readonly scrub: (text: string) => string;
  readonly keys: ReadonlySet<string>;
}

const requestLineWriters = new WeakMap<Logger, RequestLineWriter>();

/**
 * The one line per HTTP request (msg "request"), written with fields the caller chose, all flat:
 * the context's (request id, submission id), method, route template, status, ms. It is the most
 * frequent line there is, and pino's path redaction walks every key of every line against a
 * dozen wildcard paths; a flat line needs none of that. The guarantee is kept by what is done
 * instead: a field named for personal data is replaced, and every string is scrubbed by value
 * (national ids, phone numbers, e-mail addresses, the input's own personal values) exactly as on
 * every other line. A logger not made by createLogger (or a pretty one) writes it as any line.
 */
export function logRequest(logger: Logger, fields: Readonly<Record<string, string | number>>): void {
  const writer = requestLineWriters.get(logger);
  if (writer === undefined) {
    logger.info(fields, 'request');
    return;
  }
  if (!writer.plain.isLevelEnabled('info')) return;
  const line: Record<string, string | number> = {};
  for (const key of Object.keys(fields)) {
    const value = fields[key] as string | number;
    line[key] = writer.keys.has(key) ? '[redacted]' : typeof value === 'string' ? writer.scrub(value) : value;
  }
  const traceId = activeTraceId();
  if (traceId !== undefined) line.traceId = traceId;
  writer.plain.info(line, 'request');
}

export function createLogger(options: LoggerOptions): Logger {
  const categories = options.redact ?? REDACT_CATEGORIES;
  const scrub = (text: string): string => scrubText(text, categories, knownPattern(categories));
  const base = {
    level: options.level,
    base: { service: 'hit-bridge' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: redactedPaths(categories), censor: '[redacted]' },
    mixin: () => {
      const fields = storage.getStore()?.fields ?? {};
      // With tracing on, a line names its trace, so logs and the trace view meet.
      const traceId = activeTraceId();
      return traceId === undefined ? fields : { ...fields, traceId };
    },
    formatters: {
      level: (label: string) => ({ level: label }),
      log: (object: Record<string, unknown>) => scrubDeep(object, scrub),
    },
    hooks: {
      // The message (and any interpolation argument) is text like any other.
      logMethod(this: Logger, args: unknown[], method: (...args: unknown[]) => void) {
        method.apply(
          this,
          args.map((arg) => (typeof arg === 'string' ? scrub(arg) : arg)),
        );
      },
    },
  };
  if (options.pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true } } });
  }
  const logger = options.destination ? pino(base, options.destination) : pino(base);
  // The twin shares the root's stream (so lines never interleave mid-line) and its level.
  const plain = pino(
    { level: options.level, base: base.base, timestamp: base.timestamp, formatters: { level: base.formatters.level } },
    (logger as unknown as Record<symbol, DestinationStream>)[pino.symbols.streamSym],
  );
  requestLineWriters.set(logger, { plain, scrub, keys: redactedKeys(categories) });
  return logger;
}
