// Builds national ids for tests with an implementation written independently of
// src/domain/national-id.ts, so the production code is checked against a second reading of
// docs/reference/terminology.md §3 rather than against itself. Real-format ids (month 01–12) exist
// only at run time; the repository holds synthetic (month + 80) and H-number literals only.
import fc from 'fast-check';

const K1_WEIGHTS = [3, 7, 6, 1, 8, 9, 4, 5, 2];
const K2_WEIGHTS = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];

const weighted = (digits: readonly number[], weights: readonly number[]): number =>
  weights.reduce((sum, w, i) => sum + w * (digits[i] ?? 0), 0);

/**
 * The two check digits for nine digits such that the first check sums to `remainder`
 * (0 = the classic rule; 1–3 = the extra values allowed from 2032), or undefined when a check
 * digit would have to be 10.
 */
export function checkDigitsFor(nine: string, remainder = 0): string | undefined {
  const d = Array.from(nine, Number);
  const k1 = (((remainder - weighted(d, K1_WEIGHTS)) % 11) + 11) % 11;
  if (k1 === 10) return undefined;
  const k2 = (((0 - weighted([...d, k1], K2_WEIGHTS)) % 11) + 11) % 11;
  if (k2 === 10) return undefined;
  return `${k1}${k2}`;
}

/**
 * The nine digits completed with check digits: with the given first-check remainder, or else
 * the classic rule where it has check digits and the first 2032 value that has them otherwise
 * (so structural tests can use any nine digits).
 */
export function withCheckDigits(nine: string, remainder?: number): string {
  const remainders = remainder === undefined ? [0, 1, 2, 3] : [remainder];
  for (const r of remainders) {
    const check = checkDigitsFor(nine, r);
    if (check !== undefined) return nine + check;
  }
  throw new Error(`test data: no check digits exist for ${nine}`);
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** DDMMYY + individual number, with the D (day + 40) / H (month + 40) / synthetic (month + 80) offsets. */
export function firstNine(parts: { day: number; month: number; year: number; individual: number }): string {
  return pad2(parts.day) + pad2(parts.month) + pad2(parts.year % 100) + String(parts.individual).padStart(3, '0');
}

export type GeneratedKind = 'fnr' | 'd-number' | 'h-number' | 'synthetic' | 'synthetic-d-number';

export type GeneratedId = {
  id: string;
  kind: GeneratedKind;
  birthDate: string;
  sex: 'male' | 'female';
  rule: 'classic' | 'from-2032';
};

const OFFSETS: Record<GeneratedKind, { day: number; month: number }> = {
  fnr: { day: 0, month: 0 },
  'd-number': { day: 40, month: 0 },
  'h-number': { day: 0, month: 40 },
  synthetic: { day: 0, month: 80 },
  'synthetic-d-number': { day: 40, month: 80 },
};

const daysIn = (year: number, month: number): number => new Date(Date.UTC(year, month, 0)).getUTCDate();

// Individual numbers that give each birth year its century (docs/reference/terminology.md §3).
function individualFor(year: number): fc.Arbitrary<number> {
  if (year < 1900) return fc.integer({ min: 500, max: 749 });
  if (year < 2000) {
    return year % 100 >= 40
      ? fc.oneof(fc.integer({ min: 0, max: 499 }), fc.integer({ min: 900, max: 999 }))
      : fc.integer({ min: 0, max: 499 });
  }
  return fc.integer({ min: 500, max: 999 });
}

/** Valid ids of every kind, birth year 1854–2039, both check-digit rules. */
export function validNationalId(
  kinds: readonly GeneratedKind[] = Object.keys(OFFSETS) as GeneratedKind[],
): fc.Arbitrary<GeneratedId> {
  return fc
    .record({
      kind: fc.constantFrom(...kinds),
      year: fc.integer({ min: 1854, max: 2039 }),
      month: fc.integer({ min: 1, max: 12 }),
      dayFraction: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      remainder: fc.integer({ min: 0, max: 3 }),
    })
    .chain(({ kind, year, month, dayFraction, remainder }) =>
      individualFor(year).map((individual) => {
        const day = 1 + Math.floor(dayFraction * daysIn(year, month));
        const offset = OFFSETS[kind];
        const nine = firstNine({ day: day + offset.day, month: month + offset.month, year, individual });
        const check = checkDigitsFor(nine, remainder);
        if (check === undefined) return undefined;
        const generated: GeneratedId = {
          id: nine + check,
          kind,
          birthDate: `${year}-${pad2(month)}-${pad2(day)}`,
          sex: individual % 2 === 1 ? 'male' : 'female',
          rule: remainder === 0 ? 'classic' : 'from-2032',
        };
        return generated;
      }),
    )
    .filter((g): g is GeneratedId => g !== undefined);
}
