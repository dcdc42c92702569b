import { invalid, ok, type Result } from './result.ts';

// Calendar dates without time zones. Birth dates and "the day the session happened" are civil
// dates; going through `Date` would drag in a time zone and a clock, so this is plain arithmetic.

export type CalendarDate = { readonly year: number; readonly month: number; readonly day: number };

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

export function isRealDate(year: number, month: number, day: number): boolean {
  return (
    Number.isInteger(year) &&
    Number.isInteger(month) &&
    Number.isInteger(day) &&
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth(year, month)
  );
}

export function parseIsoDate(text: string): Result<CalendarDate> {
  const match = ISO_DATE.exec(text);
  if (match === null) return invalid('a date must be written YYYY-MM-DD');
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (!isRealDate(year, month, day)) return invalid('no such date');
  return ok({ year, month, day });
}

export function formatIsoDate(date: CalendarDate): string {
  const pad = (n: number, width: number): string => String(n).padStart(width, '0');
  return `${pad(date.year, 4)}-${pad(date.month, 2)}-${pad(date.day, 2)}`;
}

/** Negative when a is before b, 0 when equal, positive when after. */
export function compareDates(a: CalendarDate, b: CalendarDate): number {
  return a.year - b.year || a.month - b.month || a.day - b.day;
}

/**
 * Completed years between two dates. Someone born on 29 February has not yet had their
 * birthday on 28 February of a common year and has on 1 March, because the comparison is on
 * (month, day) as written; no source in docs/reference/ says otherwise.
 */
export function wholeYearsBetween(from: CalendarDate, to: CalendarDate): number {
  const hadBirthday = to.month > from.month || (to.month === from.month && to.day >= from.day);
  return to.year - from.year - (hadBirthday ? 0 : 1);
}
