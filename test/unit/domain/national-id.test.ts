import fc from 'fast-check';
import { ageOn, nationalIdCheckDigits, parseNationalId, type NationalId } from '../../../src/domain/national-id.ts';
import { firstNine, validNationalId, withCheckDigits } from './synthetic-national-ids.ts';

function parsed(id: string): NationalId {
  const result = parseNationalId(id);
  if (!result.ok) throw new Error(`expected a valid id, got: ${result.reason}`);
  return result.value;
}

function reasonFor(id: string, options: { asOf?: string } = {}): string {
  const result = parseNationalId(id, options);
  if (result.ok) throw new Error('expected the id to be rejected');
  return result.reason;
}

/** Replace the digit at `position` (0-based) with `digit`. */
const withDigit = (id: string, position: number, digit: number): string =>
  id.slice(0, position) + String(digit) + id.slice(position + 1);

// Synthetic, born 1 January 1990 (month 01 + 80), individual number 124 (even: female).
// k1: 3·0+7·1+6·8+1·1+8·9+9·0+4·1+5·2+2·4 = 150; 150 mod 11 = 7; k1 = 11 − 7 = 4.
// k2: 5·0+4·1+3·8+2·1+7·9+6·0+5·1+4·2+3·4+2·4 = 126; 126 mod 11 = 5; k2 = 11 − 5 = 6.
const SYNTHETIC_1990 = '01819012446';

describe('parseNationalId: kinds, birth date, sex and identifier system', () => {
  test('accepts a synthetic id (month + 80) and reads birth date 1990-01-01 and female sex from it', () => {
    expect(parsed(SYNTHETIC_1990)).toEqual({
      id: SYNTHETIC_1990,
      kind: 'synthetic',
      birthDate: '1990-01-01',
      sex: 'female',
      identifierSystem: 'urn:oid:2.16.578.1.12.4.1.4.1',
      checkDigitRule: 'classic',
    });
  });

  test('computes the fnrinfo.no worked example: 311299567 gets check digits 1 and 5', () => {
    expect(nationalIdCheckDigits('311299567')).toBe('15');
    // Assembled at run time: the repository holds no real-format id literal. Individual number
    // 567 with YY 99 falls in 500–749 with YY 54–99, so the century is the 1800s.
    const id = '311299567' + '15';
    expect(parsed(id)).toMatchObject({ kind: 'fnr', birthDate: '1899-12-31', sex: 'male' });
  });

  test('reads an odd 9th digit as male and an even one as female', () => {
    expect(parsed(withCheckDigits('018190123')).sex).toBe('male');
    expect(parsed(withCheckDigits('018190124')).sex).toBe('female');
  });

  test('reads a fødselsnummer and gives it the FNR system', () => {
    const id = withCheckDigits(firstNine({ day: 15, month: 6, year: 1985, individual: 321 }));
    expect(parsed(id)).toMatchObject({
      kind: 'fnr',
      birthDate: '1985-06-15',
      identifierSystem: 'urn:oid:2.16.578.1.12.4.1.4.1',
    });
  });

  test('reads a D-nummer (day + 40) and gives it the D-nummer system', () => {
    const id = withCheckDigits(firstNine({ day: 15 + 40, month: 6, year: 1985, individual: 321 }));
    expect(parsed(id)).toMatchObject({
      kind: 'd-number',
      birthDate: '1985-06-15',
      identifierSystem: 'urn:oid:2.16.578.1.12.4.1.4.2',
    });
  });

  test('reads an H-nummer (month + 40) and gives it the no-basis literal system HNR', () => {
    const id = withCheckDigits('154185321');
    expect(parsed(id)).toMatchObject({ kind: 'h-number', birthDate: '1985-01-15', identifierSystem: 'HNR' });
  });

  test('reads a synthetic D-nummer (day + 40 and month + 80) and gives it the D-nummer system', () => {
    const id = withCheckDigits('558685321');
    expect(parsed(id)).toMatchObject({
      kind: 'synthetic-d-number',
      birthDate: '1985-06-15',
      identifierSystem: 'urn:oid:2.16.578.1.12.4.1.4.2',
    });
  });

  test('rejects a D-nummer that is also an H-nummer (day + 40 with month + 40)', () => {
    expect(reasonFor(withCheckDigits('554685321'))).toMatch(/cannot also be an H-nummer/);
  });

  test('rejects an FH-nummer (first digit 8 or 9) because it carries no birth date', () => {
    expect(reasonFor(withCheckDigits('818685321'))).toMatch(/FH-nummer/);
    expect(reasonFor(withCheckDigits('918685321'))).toMatch(/FH-nummer/);
  });
});

describe('parseNationalId: century from the individual number', () => {
  test.each([
    ['000–499 → 1900s', '018154000', '1954-01-01'],
    ['000–499 → 1900s, year 00', '018100499', '1900-01-01'],
    ['500–749 with YY 54–99 → 1800s', '018154500', '1854-01-01'],
    ['500–749 with YY 54–99 → 1800s, upper end', '018199749', '1899-01-01'],
    ['500–999 with YY 00–39 → 2000s', '018100500', '2000-01-01'],
    ['500–999 with YY 00–39 → 2000s, upper end', '018139999', '2039-01-01'],
    ['900–999 with YY 40–99 → 1900s', '018140900', '1940-01-01'],
  ])('places individual number %s', (_rule, nine, birthDate) => {
    const id = withCheckDigits(nine);
    expect(parsed(id).birthDate).toBe(birthDate);
  });

  test.each([
    ['500–749 with YY 40–53', '018145600'],
    ['750–899 with YY 40–99', '018190800'],
    ['750–899 with YY 54', '018154750'],
  ])('rejects individual number %s, which belongs to no century', (_rule, nine) => {
    const id = withCheckDigits(nine);
    expect(reasonFor(id)).toMatch(/does not belong to any birth century/);
  });

  test('accepts 29 February 2000 (a leap year) and rejects 29 February 1900 (not one)', () => {
    expect(parsed(withCheckDigits('298200567')).birthDate).toBe('2000-02-29');
    expect(reasonFor(withCheckDigits('298200123'))).toMatch(/no such date/);
  });
});

describe('parseNationalId: format and check digits', () => {
  test.each([
    ['10 digits', SYNTHETIC_1990.slice(0, 10), /exactly 11 digits, this has 10/],
    ['12 digits', SYNTHETIC_1990 + '0', /exactly 11 digits, this has 12/],
    ['empty', '', /exactly 11 digits, this has 0/],
    ['a space', '018190 12446', /no spaces/],
    ['a letter', '0181901244A', /no spaces/],
  ])('rejects %s', (_case, input, reason) => {
    expect(reasonFor(input)).toMatch(reason);
  });

  test('rejects a synthetic id whose first check digit is off by one', () => {
    // k1 = 3 leaves remainder 10: wrong under either rule.
    expect(reasonFor(withDigit(SYNTHETIC_1990, 9, 3))).toMatch(/first check digit/);
    // k1 = 5 is one of the values allowed from 2032, so the second check digit catches it.
    expect(reasonFor(withDigit(SYNTHETIC_1990, 9, 5))).toMatch(/second check digit/);
  });

  test('rejects a first check digit outside the four allowed values even when the second matches', () => {
    expect(reasonFor('01819012489')).toMatch(/first check digit/);
  });

  test('rejects a synthetic id whose second check digit is off by one', () => {
    expect(reasonFor(withDigit(SYNTHETIC_1990, 10, 7))).toMatch(/second check digit/);
    expect(reasonFor(withDigit(SYNTHETIC_1990, 10, 5))).toMatch(/second check digit/);
  });

  test.each([
    ['month 00', '010090124'],
    ['month 13 + 80 = 93', '019390124'],
    ['month 60', '016090124'],
  ])('rejects %s', (_case, nine) => {
    const id = withCheckDigits(nine);
    expect(reasonFor(id)).toMatch(/not a month/);
  });

  test.each([
    ['day 00', '008190124'],
    ['day 32', '328190124'],
    ['31 April', '318490124'],
    ['D-nummer day 40 (day 0)', '408190124'],
  ])('rejects %s as no such date', (_case, nine) => {
    const id = withCheckDigits(nine);
    expect(reasonFor(id)).toMatch(/no such date/);
  });

  test('never repeats the id in its reason', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^\d{11}$/), (input) => {
        const result = parseNationalId(input);
        return result.ok || !result.reason.includes(input.slice(0, 6));
      }),
    );
  });

  test('rejects an id whose birth date lies after the asOf day, and accepts it on that day', () => {
    // Synthetic, born 2030-01-01 (individual 500 → 2000s).
    const id = withCheckDigits('018130500');
    expect(reasonFor(id, { asOf: '2029-12-31' })).toMatch(/in the future/);
    expect(parseNationalId(id, { asOf: '2030-01-01' }).ok).toBe(true);
  });
});

describe('parseNationalId: the 2032 first-check-digit rule', () => {
  // For 018190124 the weighted sum is 150 ≡ 7 (mod 11). The first check digit may make the
  // full sum (d1..d9 and k1 with weight 1) leave remainder 0, 1, 2 or 3, i.e. k1 = 4, 5, 6 or 7;
  // k2 is then computed from the actual k1 as before:
  //   k1 = 5: 126 − 2·4 + 2·5 = 128 ≡ 7 → k2 = 4;   k1 = 6: 130 ≡ 9 → k2 = 2;
  //   k1 = 7: 132 ≡ 0 → k2 = 0;                      k1 = 8 (remainder 4): 134 ≡ 2 → k2 = 9.
  test.each([
    ['4', '6', 'classic'],
    ['5', '4', 'from-2032'],
    ['6', '2', 'from-2032'],
    ['7', '0', 'from-2032'],
  ])('accepts first check digit %s (with second check digit %s) under the %s rule', (k1, k2, rule) => {
    expect(parsed(`018190124${k1}${k2}`).checkDigitRule).toBe(rule);
  });

  test('allows only three first check digits when one of the four would have to be 10', () => {
    // 018190127 sums to 156 ≡ 2 (mod 11): remainder 0 needs k1 = 9, 1 needs k1 = 10 (impossible),
    // 2 needs k1 = 0 and 3 needs k1 = 1.
    const digits = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
    const acceptedFirstCheckDigits = digits.filter((k1) =>
      digits.some((k2) => parseNationalId(`018190127${k1}${k2}`).ok),
    );
    expect(acceptedFirstCheckDigits).toEqual(['0', '1', '9']);
  });
});

describe('parseNationalId: properties', () => {
  test('accepts generated valid ids of every kind, under both check-digit rules, and decodes them', () => {
    fc.assert(
      fc.property(validNationalId(), (generated) => {
        const result = parseNationalId(generated.id);
        expect(result).toEqual({
          ok: true,
          value: expect.objectContaining({
            kind: generated.kind,
            birthDate: generated.birthDate,
            sex: generated.sex,
            checkDigitRule: generated.rule,
          }) as unknown,
        });
      }),
      { numRuns: 2000 },
    );
  });

  test('catches every single-digit change of a valid id: all 11 positions, all 9 other digits', () => {
    fc.assert(
      fc.property(validNationalId(), (generated) => {
        for (let position = 0; position < 11; position += 1) {
          const original = Number(generated.id[position]);
          for (let digit = 0; digit <= 9; digit += 1) {
            if (digit === original) continue;
            const changed = withDigit(generated.id, position, digit);
            const result = parseNationalId(changed);
            if (result.ok) throw new Error(`single-digit change at position ${position + 1} was accepted`);
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('ageOn', () => {
  test('counts completed years, the birthday itself included', () => {
    expect(ageOn('1990-06-15', '2024-06-14')).toEqual({ ok: true, value: 33 });
    expect(ageOn('1990-06-15', '2024-06-15')).toEqual({ ok: true, value: 34 });
    expect(ageOn('1990-06-15', '1990-06-15')).toEqual({ ok: true, value: 0 });
  });

  test('turns someone born on 29 February a year older on 1 March in a common year', () => {
    expect(ageOn('2000-02-29', '2021-02-28')).toEqual({ ok: true, value: 20 });
    expect(ageOn('2000-02-29', '2021-03-01')).toEqual({ ok: true, value: 21 });
    expect(ageOn('2000-02-29', '2024-02-29')).toEqual({ ok: true, value: 24 });
  });

  test('rejects a date before the birth date and dates that do not exist', () => {
    expect(ageOn('1990-06-15', '1990-06-14').ok).toBe(false);
    expect(ageOn('1990-02-30', '2024-01-01').ok).toBe(false);
    expect(ageOn('1990-06-15', '15.06.2024').ok).toBe(false);
  });
});
