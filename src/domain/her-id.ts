import { checkDigitString, type DigitBounds } from './digit-string.ts';
import { ok, type Result } from './result.ts';

// HER-id (Adresseregisteret, Norsk Helsenett). UNCONFIRMED: no source says
// whether a HER-id has a check digit, nor its length (docs/reference/terminology.md §3, §9 item 6), so
// only "a string of digits" is checked. A deployment that knows the length can pass bounds.

const HER_ID_SYSTEM = 'urn:oid:2.16.578.1.12.4.1.2';

export type HerId = { readonly id: string; readonly identifierSystem: typeof HER_ID_SYSTEM };

export function parseHerId(input: string, bounds: DigitBounds = {}): Result<HerId> {
  const checked = checkDigitString(input, 'a HER-id', bounds);
  return checked.ok ? ok({ id: input, identifierSystem: HER_ID_SYSTEM }) : checked;
}
