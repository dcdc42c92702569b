/**
 * Personal data out of free text: the one place that decides what a national id, a phone number
 * or an e-mail address looks like in text, and how values known to be personal are found again.
 * Used by the logger (every line), the EHR adapter (what the EHR echoes back), and the events
 * (a failure's reason). Pure: no I/O, no clock.
 *
 * Patterns err on the side of removing too much (a long resource id, an 8-digit number that
 * only looks like a phone number): a line that says less is a smaller harm than a leak.
 */

/** What LOG_REDACT can name. */
export const REDACT_CATEGORIES = ['national-id', 'name', 'phone', 'email'] as const;
export type RedactCategory = (typeof REDACT_CATEGORIES)[number];

export const REDACTED_NATIONAL_ID = '[national id]';
const REDACTED_PHONE = '[phone]';
const REDACTED_EMAIL = '[email]';

/**
 * Anything that could be a national id (fødselsnummer, D-nummer): every run of 11 or more
 * digits, and 6 + 5 digits split by a space, dot or hyphen. The EHR may echo the identifier it
 * could not find (`Patient?identifier=…|<fødselsnummer>`).
 */
export function redactNationalIds(text: string): string {
  return text.replace(/\d{11,}/g, REDACTED_NATIONAL_ID).replace(/(?<!\d)\d{6}[ .-]\d{5}(?!\d)/g, REDACTED_NATIONAL_ID);
}

/*
 * Not part of a longer token: an id in a URL or a resource reference (Procedure/12345678), a
 * time (2026-03-02T10:15:00), a UUID segment or a version number is left alone.
 */
const NOT_AFTER = String.raw`(?<![\w.:/#=|-])`;
const NOT_BEFORE = String.raw`(?![\w:/#-]|\.\d)`;
/**
 * Phone numbers as people write them: with a country code (+47 400 00 001, 0047 40000001), or
 * Norway's eight digits alone or in the usual groups (400 00 001, 40 00 00 01, 400 00001).
 */
const PHONE = new RegExp(
  `${NOT_AFTER}(?:(?:\\+|00)\\d{1,3}[ .-]?\\d{2,4}(?:[ .-]?\\d{2,4}){1,4}|\\d{8}|\\d{3} \\d{2} \\d{3}|\\d{2} \\d{2} \\d{2} \\d{2}|\\d{3} \\d{5})${NOT_BEFORE}`,
  'g',
);
const EMAIL = /[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+/gu;

export function redactPhones(text: string): string {
  return text.replace(PHONE, REDACTED_PHONE);
}

export function redactEmails(text: string): string {
  return text.replace(EMAIL, REDACTED_EMAIL);
}

/** Keys whose string values are personal, by category, wherever they sit in an input. */
const KEY_CATEGORY: Readonly<Record<string, RedactCategory>> = {
  nationalId: 'national-id',
  givenName: 'name',
  familyName: 'name',
  fullName: 'name',
  phone: 'phone',
  email: 'email',
};
/** Objects that describe a person: their `name` is a person's name (elsewhere `name` may be an exercise). */
const PERSON_KEYS: readonly string[] = ['patient', 'trainingContact', 'hospitalContact'];

/**
 * The personal values an input carries (national id, names, phone, e-mail) with their category,
 * so they can be found again verbatim in text: an EHR echoing "Kari Nordmann" in a diagnostic is
 * caught even though no pattern describes a name.
 */
export function personalValuesOf(input: unknown): { readonly value: string; readonly category: RedactCategory }[] {
  const found: { value: string; category: RedactCategory }[] = [];
  const walk = (value: unknown, inPerson: boolean, depth: number): void => {
    if (depth > 8 || value === null || typeof value !== 'object') return;
    for (const [childKey, child] of Object.entries(value as Record<string, unknown>)) {
      if (typeof child === 'string') {
        const category = KEY_CATEGORY[childKey] ?? (inPerson && childKey === 'name' ? 'name' : undefined);
        if (category !== undefined && child.trim() !== '') found.push({ value: child, category });
      } else {
        walk(child, PERSON_KEYS.includes(childKey), depth + 1);
      }
    }
  };
  walk(input, false, 0);
  return found;
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A pattern matching each value, and each word of a name (a diagnostic may name only the family
 * name), as whole words, case-insensitively. Words under two letters are not sought: they would
 * cut ordinary text.
 */
export function knownValuesPattern(
  values: readonly { readonly value: string; readonly category: RedactCategory }[],
  categories: readonly RedactCategory[],
): RegExp | undefined {
  const wanted = new Set<string>();
  for (const { value, category } of values) {
    if (!categories.includes(category)) continue;
    wanted.add(value.trim());
    if (category === 'name') for (const word of value.split(/[\s,-]+/)) if (word.length >= 2) wanted.add(word);
  }
  if (wanted.size === 0) return undefined;
  // Longest first, so "Kari Nordmann" is taken whole before "Kari".
  const alternatives = [...wanted].sort((a, b) => b.length - a.length).map(escapeRegExp);
  return new RegExp(`(?<![\\p{L}\\p{N}])(?:${alternatives.join('|')})(?![\\p{L}\\p{N}])`, 'giu');
}

/** Free text with the chosen categories of personal data replaced; `known` adds verbatim values. */
export function scrubText(text: string, categories: readonly RedactCategory[], known?: RegExp): string {
  let out = known === undefined ? text : text.replace(known, '[redacted]');
  if (categories.includes('email')) out = redactEmails(out);
  if (categories.includes('national-id')) out = redactNationalIds(out);
  if (categories.includes('phone')) out = redactPhones(out);
  return out;
}

/** A deep copy with every string scrubbed (objects and arrays followed to `maxDepth`). */
export function scrubDeep<T>(value: T, scrub: (text: string) => string, maxDepth = 8): T {
  const walk = (item: unknown, depth: number): unknown => {
    if (typeof item === 'string') return scrub(item);
    if (item === null || typeof item !== 'object') return item;
    if (depth >= maxDepth) return '[too deep]';
    if (Array.isArray(item)) return item.map((entry) => walk(entry, depth + 1));
    if (item instanceof Error) return errorShape(item, (entry) => walk(entry, depth + 1));
    if (item instanceof Date) return item;
    const copy: Record<string, unknown> = {};
    for (const [key, entry] of Object.entries(item as Record<string, unknown>)) copy[key] = walk(entry, depth + 1);
    return copy;
  };
  return walk(value, 0) as T;
}

/**
 * A copy of an Error (same prototype, so it stays an Error of its type for pino's serializer)
 * with its message, stack, cause and own fields passed through `walk`.
 */
function errorShape(error: Error, walk: (value: unknown) => unknown): Error {
  const copy = Object.create(Object.getPrototypeOf(error) as object | null) as Error & Record<string, unknown>;
  for (const [key, entry] of Object.entries(error)) copy[key] = walk(entry);
  Object.defineProperty(copy, 'message', { value: walk(error.message), enumerable: false, writable: true });
  Object.defineProperty(copy, 'stack', { value: walk(error.stack ?? ''), enumerable: false, writable: true });
  if (error.cause !== undefined) {
    Object.defineProperty(copy, 'cause', { value: walk(error.cause), enumerable: false, writable: true });
  }
  return copy;
}
