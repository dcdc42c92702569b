/**
 * Norwegian wall-clock time by arithmetic: UTC+1, and UTC+2 from 01:00 UTC on the last Sunday of
 * March to 01:00 UTC on the last Sunday of October, the EU summer-time rule Norway has kept since
 * 1996 (docs/reference/time.md). Intl's time-zone formatting costs microseconds a call and a
 * session's mapping asks dozens of times; outside the years the rule is known to hold here, the
 * answer comes from Intl (the IANA database) instead. test/unit/domain/oslo-time.test.ts holds
 * the arithmetic to Intl around every change of clock of those years.
 */

export interface WallClock {
  readonly year: number;
  /** 1–12. */
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const FIRST_YEAR = 1996;
const LAST_YEAR = 2099;

/** 01:00 UTC on the last Sunday of the month (0-based), the instant the clocks change. */
function lastSundayOneAm(year: number, monthIndex: number): number {
  const lastDay = Date.UTC(year, monthIndex + 1, 0);
  return lastDay - new Date(lastDay).getUTCDay() * DAY_MS + HOUR_MS;
}

const summers = new Map<number, readonly [number, number]>();

function summerOf(year: number): readonly [number, number] {
  let summer = summers.get(year);
  if (summer === undefined) {
    summer = [lastSundayOneAm(year, 2), lastSundayOneAm(year, 9)];
    summers.set(year, summer);
  }
  return summer;
}

// Made on first use, outside the years above: the first Intl object a process makes reads ICU's
// time-zone and locale data, about 6 MB of resident memory the service otherwise never needs.
let intlParts: Intl.DateTimeFormat | undefined;

function fromIntl(instant: Date): WallClock {
  intlParts ??= new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Europe/Oslo',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  const parts = Object.fromEntries(intlParts.formatToParts(instant).map((part) => [part.type, Number(part.value)]));
  return {
    year: parts.year ?? Number.NaN,
    month: parts.month ?? Number.NaN,
    day: parts.day ?? Number.NaN,
    hour: parts.hour ?? Number.NaN,
    minute: parts.minute ?? Number.NaN,
  };
}

/** The date and time on a clock in Norway at this instant. */
export function osloWallClock(instant: Date): WallClock {
  const ms = instant.getTime();
  const year = instant.getUTCFullYear();
  if (!(year >= FIRST_YEAR && year <= LAST_YEAR)) return fromIntl(instant);
  const [summerStarts, summerEnds] = summerOf(year);
  const local = new Date(ms + (ms >= summerStarts && ms < summerEnds ? 2 : 1) * HOUR_MS);
  return {
    year: local.getUTCFullYear(),
    month: local.getUTCMonth() + 1,
    day: local.getUTCDate(),
    hour: local.getUTCHours(),
    minute: local.getUTCMinutes(),
  };
}
