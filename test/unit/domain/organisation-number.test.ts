import fc from 'fast-check';
import { organisationNumberCheckDigit, parseOrganisationNumber } from '../../../src/domain/organisation-number.ts';

const WEIGHTS = [3, 2, 7, 6, 5, 4, 3, 2];

// Independent of the production code: 11 − (weighted sum mod 11), 11 → 0, 10 → none.
function checkDigit(firstEight: string): number | undefined {
  const sum = WEIGHTS.reduce((acc, w, i) => acc + w * Number(firstEight[i]), 0);
  const check = (11 - (sum % 11)) % 11;
  return check === 10 ? undefined : check;
}

const validOrganisationNumber = fc
  .stringMatching(/^\d{8}$/)
  .map((firstEight) => {
    const check = checkDigit(firstEight);
    return check === undefined ? undefined : `${firstEight}${check}`;
  })
  .filter((n): n is string => n !== undefined);

describe('parseOrganisationNumber', () => {
  test('accepts the brreg worked example 123456785 and gives it the ENH system', () => {
    // 3·1+2·2+7·3+6·4+5·5+4·6+3·7+2·8 = 138; 138 mod 11 = 6; 11 − 6 = 5.
    expect(organisationNumberCheckDigit('12345678')).toBe(5);
    expect(parseOrganisationNumber('123456785')).toEqual({
      ok: true,
      value: { id: '123456785', identifierSystem: 'urn:oid:2.16.578.1.12.4.1.4.101' },
    });
  });

  test('rejects the worked example with its check digit off by one', () => {
    expect(parseOrganisationNumber('123456784')).toEqual({
      ok: false,
      reason: 'the check digit (digit 9) does not match',
    });
    expect(parseOrganisationNumber('123456786').ok).toBe(false);
  });

  test('gives check digit 0 when the remainder is 0', () => {
    // 3·1 + 2·4 = 11 ≡ 0.
    expect(organisationNumberCheckDigit('14000000')).toBe(0);
    expect(parseOrganisationNumber('140000000').ok).toBe(true);
  });

  test('rejects every number whose first eight digits leave remainder 1 (check digit would be 10)', () => {
    // 3·1 + 2·5 = 13 ≡ 2 → 9; 3·4 = 12 ≡ 1 → 10: no check digit exists.
    expect(organisationNumberCheckDigit('40000000')).toBeUndefined();
    for (let last = 0; last <= 9; last += 1) {
      expect(parseOrganisationNumber(`40000000${last}`)).toEqual({
        ok: false,
        reason: 'not a possible organisation number: no check digit exists for its first eight digits',
      });
    }
  });

  test.each([
    ['8 digits', '12345678', /exactly 9 digits, this has 8/],
    ['10 digits', '1234567850', /exactly 9 digits, this has 10/],
    ['spaces', '123 456 785', /no spaces/],
    ['a leading "NO"', 'NO123456785', /no spaces/],
  ])('rejects %s', (_case, input, reason) => {
    const result = parseOrganisationNumber(input);
    expect(result.ok ? undefined : result.reason).toMatch(reason);
  });

  test('accepts generated valid organisation numbers', () => {
    fc.assert(
      fc.property(validOrganisationNumber, (n) => {
        expect(parseOrganisationNumber(n).ok).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  test('catches every single-digit change of a valid organisation number: all 9 positions, all 9 other digits', () => {
    fc.assert(
      fc.property(validOrganisationNumber, (n) => {
        for (let position = 0; position < 9; position += 1) {
          for (let digit = 0; digit <= 9; digit += 1) {
            if (String(digit) === n[position]) continue;
            const changed = n.slice(0, position) + String(digit) + n.slice(position + 1);
            if (parseOrganisationNumber(changed).ok) throw new Error(`change at position ${position + 1} was accepted`);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });
});
