import { formatDateTimeNo, osloCalendarDate } from '../../../mappings/common.ts';
import { osloWallClock } from '../../../src/domain/oslo-time.ts';

// The tz database, through Intl, is the authority the arithmetic is held to.
const TZ_DATE = new Intl.DateTimeFormat('nb-NO', {
  timeZone: 'Europe/Oslo',
  day: '2-digit',
  month: '2-digit',
  year: 'numeric',
});
const TZ_TIME = new Intl.DateTimeFormat('nb-NO', { timeZone: 'Europe/Oslo', hour: '2-digit', minute: '2-digit' });
const TZ_PARTS = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/Oslo',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
});

function tzDateTimeNo(instant: Date): string {
  return `${TZ_DATE.format(instant)} kl. ${TZ_TIME.format(instant).replace(':', '.')}`;
}

function tzCalendarDate(instant: Date): string {
  const parts = Object.fromEntries(TZ_PARTS.formatToParts(instant).map((part) => [part.type, part.value]));
  return `${parts.year ?? ''}-${parts.month ?? ''}-${parts.day ?? ''}`;
}

/** Every change of clock the tz database knows from 1996 to 2099, found by stepping through each year. */
function clockChanges(fromYear: number, toYear: number): Date[] {
  const offset = (ms: number): number => {
    const clock = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Oslo', hour: '2-digit', hourCycle: 'h23' });
    return (Number(clock.format(ms)) - new Date(ms).getUTCHours() + 24) % 24;
  };
  const changes: Date[] = [];
  const step = 6 * 3_600_000;
  for (let ms = Date.UTC(fromYear, 0, 1); ms < Date.UTC(toYear + 1, 0, 1); ms += step) {
    if (offset(ms) === offset(ms + step)) continue;
    let low = ms;
    let high = ms + step;
    while (high - low > 60_000) {
      const middle = low + Math.floor((high - low) / 2 / 60_000) * 60_000;
      if (offset(middle) === offset(low)) low = middle;
      else high = middle;
    }
    changes.push(new Date(high));
  }
  return changes;
}

describe('Norwegian wall-clock time without Intl', () => {
  const changes = clockChanges(1996, 2099);

  it('finds two changes of clock a year in the tz database, 1996 to 2099', () => {
    expect(changes).toHaveLength(2 * 104);
  });

  it('agrees with the tz database a minute either side of every change of clock, 1996 to 2099', () => {
    const disagreements = changes.flatMap((change) =>
      [-61_000, -60_000, -1, 0, 60_000].flatMap((delta) => {
        const instant = new Date(change.getTime() + delta);
        const iso = instant.toISOString();
        return formatDateTimeNo(iso) === tzDateTimeNo(instant) && osloCalendarDate(iso) === tzCalendarDate(instant)
          ? []
          : [`${iso}: ${formatDateTimeNo(iso)} vs ${tzDateTimeNo(instant)}`];
      }),
    );
    expect(disagreements).toEqual([]);
  });

  it('agrees with the tz database at random instants from 1900 to 2200, inside the computed years and out', () => {
    let seed = 20261205;
    const random = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const from = Date.UTC(1900, 0, 1);
    const to = Date.UTC(2200, 0, 1);
    const disagreements: string[] = [];
    for (let i = 0; i < 20_000; i += 1) {
      const instant = new Date(from + Math.floor(random() * (to - from)));
      const iso = instant.toISOString();
      if (formatDateTimeNo(iso) !== tzDateTimeNo(instant) || osloCalendarDate(iso) !== tzCalendarDate(instant)) {
        disagreements.push(`${iso}: ${formatDateTimeNo(iso)} vs ${tzDateTimeNo(instant)}`);
      }
    }
    expect(disagreements).toEqual([]);
  });

  it('reads an input offset as the instant it names: 23:30 in New York is the next morning in Norway', () => {
    expect(osloCalendarDate('2026-11-23T23:30:00-05:00')).toBe('2026-11-24');
    expect(formatDateTimeNo('2026-11-23T23:30:00-05:00')).toBe('24.11.2026 kl. 05.30');
    expect(formatDateTimeNo('2026-07-01T10:15:00Z')).toBe('01.07.2026 kl. 12.15');
    expect(osloWallClock(new Date('2026-03-29T01:00:00Z'))).toEqual({
      year: 2026,
      month: 3,
      day: 29,
      hour: 3,
      minute: 0,
    });
  });
});
