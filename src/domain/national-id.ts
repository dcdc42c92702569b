import { compareDates, formatIsoDate, isRealDate, parseIsoDate, wholeYearsBetween } from './iso-date.ts';
import { digitsOf, mod11CheckDigit, weightedRemainder } from './mod11.ts';
import { invalid, ok, type Result } from './result.ts';
import type { Sex } from './sex.ts';

// Norwegian national ids: fødselsnummer, D-nummer, H-nummer and synthetic test ids.
// Rules from docs/reference/terminology.md §2 and §3 (NAV fnrvalidator,
// fnrinfo.no, Skatteetaten "nytt fødselsnummer fra 2032").

export type NationalIdKind =
  | 'fnr' // fødselsnummer
  | 'd-number' // D-nummer: day + 40
  | 'h-number' // H-nummer (local help number): month + 40
  | 'synthetic' // synthetic test fødselsnummer: month + 80
  | 'synthetic-d-number'; // synthetic test D-nummer: day + 40 and month + 80

/**
 * Which first-check-digit rule the id passed. 'classic' ids are valid under both rules;
 * 'from-2032' ids are valid only under the rule Skatteetaten introduces for ids issued from
 * 1 January 2032, so such an id was certainly issued under it.
 */
type CheckDigitRule = 'classic' | 'from-2032';

export type NationalId = {
  readonly id: string;
  readonly kind: NationalIdKind;
  /** YYYY-MM-DD, with the D/H/synthetic offsets removed and the century from the individual number. */
  readonly birthDate: string;
  /**
   * Odd 9th digit = male, even = female (docs/reference/terminology.md §3, UNCONFIRMED there). Caution:
   * Skatteetaten says ids issued from 2032 are gender-neutral and sex must then come from the
   * Folkeregisteret; an id with checkDigitRule 'from-2032' is such an id.
   */
  readonly sex: Sex;
  readonly identifierSystem: NationalIdSystem;
  readonly checkDigitRule: CheckDigitRule;
};

const NATIONAL_ID_SYSTEMS = {
  fnr: 'urn:oid:2.16.578.1.12.4.1.4.1',
  dNumber: 'urn:oid:2.16.578.1.12.4.1.4.2',
  // no-basis Patient identifier[HNR] fixes system to the literal "HNR" and makes
  // Identifier.assigner mandatory, because H-numbers are unique only within the issuing system
  // (docs/reference/terminology.md §2). The mapping must supply the assigner.
  hNumber: 'HNR',
} as const;
type NationalIdSystem = (typeof NATIONAL_ID_SYSTEMS)[keyof typeof NATIONAL_ID_SYSTEMS];

// Synthetic test ids stand in for the real id they imitate, so they take that id's system: the
// reference names no system of their own (decision, not a sourced fact).
const SYSTEM_BY_KIND: Readonly<Record<NationalIdKind, NationalIdSystem>> = {
  fnr: NATIONAL_ID_SYSTEMS.fnr,
  'd-number': NATIONAL_ID_SYSTEMS.dNumber,
  'h-number': NATIONAL_ID_SYSTEMS.hNumber,
  synthetic: NATIONAL_ID_SYSTEMS.fnr,
  'synthetic-d-number': NATIONAL_ID_SYSTEMS.dNumber,
};

// docs/reference/terminology.md §3.
const K1_WEIGHTS = [3, 7, 6, 1, 8, 9, 4, 5, 2] as const;
const K2_WEIGHTS = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2] as const;
// The check digit itself has weight 1 when the whole number is summed, so a valid id sums to
// remainder 0 under the classic rule.
const K1_FULL_WEIGHTS = [...K1_WEIGHTS, 1] as const;
const K2_FULL_WEIGHTS = [...K2_WEIGHTS, 1] as const;
// From 2032 the first check digit may be chosen so the full weighted sum leaves remainder
// 0, 1, 2 or 3 ("ny kontrollberegning vil akseptere 0, 1, 2 og 3"), i.e. four possible values
// of k1 (fewer when one of them would be 10); k2 is still computed from the actual k1
// (docs/reference/terminology.md §3; NAV fnrvalidator computes k1 = 11 + rest − sum mod 11 the same way).
const K1_REMAINDERS_FROM_2032 = [1, 2, 3] as const;

const ELEVEN_DIGITS = /^\d{11}$/;

export type ParseNationalIdOptions = {
  /** When given (YYYY-MM-DD), an id whose birth date lies after this day is rejected. */
  readonly asOf?: string;
};

export function parseNationalId(input: string, options: ParseNationalIdOptions = {}): Result<NationalId> {
  if (!ELEVEN_DIGITS.test(input)) {
    return invalid(
      /^\d*$/.test(input)
        ? `a national id must be exactly 11 digits, this has ${input.length}`
        : 'a national id must be exactly 11 digits with no spaces, dots or other characters',
    );
  }
  const d = digitsOf(input);

  const k1Remainder = weightedRemainder(d, K1_FULL_WEIGHTS);
  const k1Rule: CheckDigitRule | undefined =
    k1Remainder === 0
      ? 'classic'
      : (K1_REMAINDERS_FROM_2032 as readonly number[]).includes(k1Remainder)
        ? 'from-2032'
        : undefined;
  if (k1Rule === undefined) return invalid('the check digits do not match (the first check digit, digit 10, is wrong)');
  if (weightedRemainder(d, K2_FULL_WEIGHTS) !== 0) {
    return invalid('the check digits do not match (the second check digit, digit 11, is wrong)');
  }

  const [d1 = 0, d2 = 0, d3 = 0, d4 = 0, d5 = 0, d6 = 0, d7 = 0, d8 = 0, d9 = 0] = d;
  if (d1 === 8 || d1 === 9) {
    // FH-nummer (felles hjelpenummer) and the retired H-numbers with first digit 8/9 carry no
    // birth date; hit-bridge's identifier table (docs/reference/README.md) does not include them.
    return invalid('this looks like an FH-nummer (first digit 8 or 9), which has no birth date and is not accepted');
  }
  const isDNumber = d1 >= 4;
  const day = (d1 - (isDNumber ? 4 : 0)) * 10 + d2;
  const rawMonth = d3 * 10 + d4;
  const monthOffset = rawMonth >= 81 && rawMonth <= 92 ? 80 : rawMonth >= 41 && rawMonth <= 52 ? 40 : 0;
  const month = rawMonth - monthOffset;
  if (month < 1 || month > 12) {
    return invalid('digits 3–4 are not a month (01–12, 41–52 for an H-nummer, 81–92 for a synthetic test id)');
  }
  const kind = kindOf(isDNumber, monthOffset);
  if (kind === undefined) {
    return invalid('a D-nummer (day + 40) cannot also be an H-nummer (month + 40)');
  }

  const yy = d5 * 10 + d6;
  const individual = d7 * 100 + d8 * 10 + d9;
  const year = birthYear(yy, individual);
  if (year === undefined) {
    return invalid(
      'the individual number (digits 7–9) does not belong to any birth century for the year in digits 5–6',
    );
  }
  if (!isRealDate(year, month, day)) return invalid('no such date: the first six digits are not a real birth date');
  const birth = { year, month, day };

  if (options.asOf !== undefined) {
    const asOf = parseIsoDate(options.asOf);
    if (!asOf.ok) return invalid(`asOf: ${asOf.reason}`);
    if (compareDates(birth, asOf.value) > 0) return invalid('the birth date in the id lies in the future');
  }

  return ok({
    id: input,
    kind,
    birthDate: formatIsoDate(birth),
    sex: d9 % 2 === 1 ? 'male' : 'female',
    identifierSystem: SYSTEM_BY_KIND[kind],
    checkDigitRule: k1Rule,
  });
}

function kindOf(isDNumber: boolean, monthOffset: number): NationalIdKind | undefined {
  if (monthOffset === 40) return isDNumber ? undefined : 'h-number';
  // The reference is silent on D + synthetic; NAV's validator (the reference's primary source for
  // these rules) accepts it as "dnr-and-tnr", and it lets D-nummer paths be tested with synthetic
  // data only, so it is accepted.
  if (monthOffset === 80) return isDNumber ? 'synthetic-d-number' : 'synthetic';
  return isDNumber ? 'd-number' : 'fnr';
}

// docs/reference/terminology.md §3 (UNCONFIRMED there): 000–499 → 1900–1999; 500–749 with YY 54–99 → 1854–1899;
// 500–999 with YY 00–39 → 2000–2039; 900–999 with YY 40–99 → 1940–1999. Anything else
// (500–749 with YY 40–53, 750–899 with YY 40–99) has no century.
function birthYear(yy: number, individual: number): number | undefined {
  if (individual <= 499) return 1900 + yy;
  if (individual <= 749 && yy >= 54) return 1800 + yy;
  if (yy <= 39) return 2000 + yy;
  if (individual >= 900) return 1900 + yy;
  return undefined;
}

/**
 * The two classic check digits for the first nine digits of a national id, or undefined when
 * none exist (a check digit would be 10). For building synthetic fixtures at run time.
 */
export function nationalIdCheckDigits(firstNine: string): string | undefined {
  if (!/^\d{9}$/.test(firstNine)) return undefined;
  const d = digitsOf(firstNine);
  const k1 = mod11CheckDigit(d, K1_WEIGHTS);
  if (k1 === undefined) return undefined;
  const k2 = mod11CheckDigit([...d, k1], K2_WEIGHTS);
  return k2 === undefined ? undefined : `${k1}${k2}`;
}

/** Age in completed years on a given day (both YYYY-MM-DD); the caller supplies "today". */
export function ageOn(birthDate: string, onDate: string): Result<number> {
  const birth = parseIsoDate(birthDate);
  if (!birth.ok) return invalid(`birth date: ${birth.reason}`);
  const on = parseIsoDate(onDate);
  if (!on.ok) return invalid(`date: ${on.reason}`);
  if (compareDates(on.value, birth.value) < 0) return invalid('the date is before the birth date');
  return ok(wholeYearsBetween(birth.value, on.value));
}
