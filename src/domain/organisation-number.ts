import { digitsOf, mod11CheckDigit } from './mod11.ts';
import { invalid, ok, type Result } from './result.ts';

// Organisasjonsnummer (Enhetsregisteret): 9 digits, the last a mod-11 check digit over the first
// eight with weights 3 2 7 6 5 4 3 2; remainder 0 gives 0, remainder 1 (check digit 10) means
// the number cannot exist (docs/reference/terminology.md §3, brreg.no). No rule on the first digit is
// documented there, so none is applied.

const ORGANISATION_NUMBER_SYSTEM = 'urn:oid:2.16.578.1.12.4.1.4.101';

const WEIGHTS = [3, 2, 7, 6, 5, 4, 3, 2] as const;

export type OrganisationNumber = {
  readonly id: string;
  readonly identifierSystem: typeof ORGANISATION_NUMBER_SYSTEM;
};

export function parseOrganisationNumber(input: string): Result<OrganisationNumber> {
  if (!/^\d{9}$/.test(input)) {
    return invalid(
      /^\d*$/.test(input)
        ? `an organisation number must be exactly 9 digits, this has ${input.length}`
        : 'an organisation number must be exactly 9 digits with no spaces or other characters',
    );
  }
  const digits = digitsOf(input);
  const expected = mod11CheckDigit(digits, WEIGHTS);
  if (expected === undefined) {
    return invalid('not a possible organisation number: no check digit exists for its first eight digits');
  }
  if (expected !== digits[8]) return invalid('the check digit (digit 9) does not match');
  return ok({ id: input, identifierSystem: ORGANISATION_NUMBER_SYSTEM });
}

/** The check digit for the first eight digits, or undefined when none exists. For fixtures. */
export function organisationNumberCheckDigit(firstEight: string): number | undefined {
  if (!/^\d{8}$/.test(firstEight)) return undefined;
  return mod11CheckDigit(digitsOf(firstEight), WEIGHTS);
}
